// Any promise rejection left unhandled while a test file runs fails that file: the library
// promises that none ever escapes.
const unhandled: unknown[] = [];
const record = (reason: unknown): void => {
  unhandled.push(reason);
};

beforeAll(() => {
  process.on('unhandledRejection', record);
});

afterAll(async () => {
  // Let rejections from the last test's settled promises surface before judging.
  await new Promise((resolve) => setImmediate(resolve));
  process.off('unhandledRejection', record);
  expect(unhandled).toEqual([]);
});
