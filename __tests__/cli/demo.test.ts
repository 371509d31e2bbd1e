import { closeHarnesses, startDataPlane } from '../helpers/harness';
import { requireBuiltCli, runCli } from '../helpers/cli';

beforeAll(requireBuiltCli);
afterEach(closeHarnesses);

describe('flagsmith-rudderstack demo', () => {
  test('drives the reference host with the Flagsmith client and shows the identify events a local data plane received', async () => {
    const result = await runCli(['demo']);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Flagsmith client, identity "qa.tester@example.com": identity overrides beat the segment\'s\n    checkout_v2 = "green"');
    // What the data plane received, per identity: the identity override and the segment override show.
    expect(result.stdout).toMatch(/identify {2}userId "qa\.tester@example\.com"\n(?: {6}.*\n)*? {6}checkout_v2 +"green"/);
    expect(result.stdout).toMatch(/identify {2}userId "acme-admin@acme\.example"\n(?: {6}.*\n)*? {6}sso_login +"saml"/);
    expect(result.stdout).toContain('4 of 4 identify event(s) delivered.');
  });

  test("prints where the integration's metrics are, and what they said after the flush", async () => {
    const result = await runCli(['demo']);

    expect(result.code).toBe(0);
    const url = /^Metrics: (http:\/\/127\.0\.0\.1:\d+\/metrics) \(Prometheus, while the demo runs; README "Monitoring" says what each is\)$/m.exec(
      result.stdout,
    )?.[1];
    expect(url).toBeDefined();
    expect(result.stdout).toContain(
      `From ${url}, after the flush:\n` +
        '    flagsmith_rudderstack_events_received_total 4\n' +
        '    flagsmith_rudderstack_events_total{outcome="delivered"} 4\n',
    );
    // One request, or more if the client's calls spanned a flush interval.
    expect(result.stdout).toMatch(/^ {4}flagsmith_rudderstack_requests_total\{status_class="2xx"\} [1-4]$/m);
    expect(result.stdout).toContain('    flagsmith_rudderstack_destinations{state="idle"} 1\n');
  });

  test('sends to the data plane in RUDDERSTACK_WRITE_KEY and RUDDERSTACK_DATA_PLANE_URL when both are set', async () => {
    const dataPlane = await startDataPlane({ writeKeys: ['wk_demo_secret'] });
    const result = await runCli(['demo', '--allow-private-networks'], {
      RUDDERSTACK_WRITE_KEY: 'wk_demo_secret',
      RUDDERSTACK_DATA_PLANE_URL: dataPlane.url,
    });

    expect(result.code).toBe(0);
    expect(dataPlane.events.map((event) => event.userId)).toEqual(['user_123', 'acme-admin@acme.example', 'qa.tester@example.com', 'jane.doe@example.com']);
    expect(result.stdout).toContain('4 of 4 identify event(s) delivered.');
    expect(result.stdout + result.stderr).not.toContain('wk_demo_secret');
  });

  test('keeps a write key pasted into the path of RUDDERSTACK_DATA_PLANE_URL out of its output', async () => {
    const dataPlane = await startDataPlane({ writeKeys: ['wk_demo_secret'] });
    const result = await runCli(['demo', '--allow-private-networks'], {
      RUDDERSTACK_WRITE_KEY: 'wk_demo_secret',
      RUDDERSTACK_DATA_PLANE_URL: `${dataPlane.url}/wk_demo_secret`,
    });

    // That path is not a data plane's (404): the events are refused, and the warning says so.
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`Data plane: ${dataPlane.url}/`);
    expect(result.stdout + result.stderr).not.toContain('wk_demo_secret');
  });

  test('only one of the two variables: one line and exit 2', async () => {
    const result = await runCli(['demo'], { RUDDERSTACK_WRITE_KEY: 'wk_demo_secret' });

    expect(result.code).toBe(2);
    expect(result.stderr).toBe("error: to send the demo's events to your data plane, set both RUDDERSTACK_WRITE_KEY and RUDDERSTACK_DATA_PLANE_URL\n");
  });
});
