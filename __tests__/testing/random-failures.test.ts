import { closeHarnesses, startDataPlane } from '../helpers/harness';

afterEach(closeHarnesses);

function post(url: string): Promise<number> {
  return fetch(`${url}/v1/batch`, {
    method: 'POST',
    headers: { Authorization: `Basic ${Buffer.from('key:').toString('base64')}` },
    body: JSON.stringify({ batch: [{ type: 'identify', userId: 'a' }] }),
  }).then((response) => response.status);
}

describe('local data plane randomFailures', () => {
  test('a request fails with the status when the draw is under the rate; the failure script goes first', async () => {
    const draws = [0.1, 0.9, 0.29, 0.3];
    const dataPlane = await startDataPlane({ randomFailures: { rate: 0.3, status: 503, random: () => draws.shift() ?? 1 } });
    dataPlane.fail({ status: 429 });

    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push(await post(dataPlane.url));

    expect(statuses).toEqual([429, 503, 200, 503, 200]);
    expect(dataPlane.events).toHaveLength(2);
  });

  test('onRequest sees every settled request, refused or not', async () => {
    const seen: Array<number | null> = [];
    const dataPlane = await startDataPlane({ randomFailures: { rate: 1, status: 500 }, onRequest: (request) => seen.push(request.status) });
    await post(dataPlane.url);

    expect(seen).toEqual([500]);
  });

  test.each([
    { rate: 1.5, status: 503 },
    { rate: 0.5, status: 99 },
  ])('refuses %j', async (randomFailures) => {
    await expect(startDataPlane({ randomFailures })).rejects.toThrow(RangeError);
  });
});
