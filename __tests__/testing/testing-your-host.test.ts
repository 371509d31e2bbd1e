// The test of README's "Testing your host", with the package's imports as paths into this repository.
import { createTestIntegration, identitiesResponse, sdkFlags, type IdentitiesResponse, type TestIntegration } from '../../src/testing';
import type { RudderStackIntegration } from '../../src';

// The host's code under test: its identities handler calls the hook after computing the response.
function respondWithIdentity(integration: RudderStackIntegration, environmentKey: string, response: IdentitiesResponse): IdentitiesResponse {
  integration.postIdentityFetch({
    environmentKey,
    identity: { identifier: response.identifier, traits: response.traits },
    flags: response.flags,
  });
  return response;
}

describe('the host wires the RudderStack hook', () => {
  let rudderstack: TestIntegration;
  beforeEach(async () => {
    rudderstack = await createTestIntegration();
  });
  afterEach(() => rudderstack.close());

  test('one identify per identities response, with each flag as a trait', async () => {
    const response = identitiesResponse({
      identifier: 'user_123',
      flags: { checkout_v2: 'blue', max_upload_mb: 250, dark_mode: { enabled: false } },
      traits: { plan: 'pro' },
    });

    expect(respondWithIdentity(rudderstack.integration, rudderstack.environmentKey, response)).toBe(response);

    const [event] = await rudderstack.waitForEvents(1);
    expect(event).toMatchObject({
      type: 'identify',
      userId: 'user_123',
      traits: { checkout_v2: 'blue', max_upload_mb: 250, dark_mode: false },
    });
    // The identity's own traits are not sent, as in Flagsmith.
    expect(event.traits).not.toHaveProperty('plan');
  });

  test('flags from flagsmith-nodejs (a Flags object) work the same way', async () => {
    rudderstack.integration.postIdentityFetch({
      environmentKey: rudderstack.environmentKey,
      identity: { identifier: 'user_456' },
      flags: sdkFlags({ checkout_v2: 'green', beta: { enabled: true, value: null } }),
    });

    const [event] = await rudderstack.waitForEvents(1);
    expect(event.traits).toEqual({ checkout_v2: 'green', beta: true });
  });

  test('an environment without the integration sends nothing', async () => {
    rudderstack.integration.postIdentityFetch({
      environmentKey: 'another-environment',
      identity: { identifier: 'user_789' },
      flags: sdkFlags({ checkout_v2: 'blue' }),
    });
    await rudderstack.integration.flush();

    expect(rudderstack.integration.stats()).toMatchObject({ received: 1, skipped: 1, delivered: 0 });
    expect(rudderstack.dataPlane.requests).toEqual([]);
  });
});
