// PGlite for the tests, in a worker thread: jest's module sandbox cannot run the dynamic
// import() of Node built-ins that PGlite does when it starts, a plain worker can.
// Messages in: { id, op: 'query' | 'exec' | 'close', text, values }; out: { id, rows } or { id, error }.
const { parentPort } = require('node:worker_threads');
const { PGlite } = require('@electric-sql/pglite');

const db = new PGlite();

parentPort.on('message', async ({ id, op, text, values }) => {
  try {
    let rows = [];
    if (op === 'exec') await db.exec(text);
    else if (op === 'close') await db.close();
    else rows = (await db.query(text, values)).rows;
    parentPort.postMessage({ id, rows });
  } catch (error) {
    parentPort.postMessage({ id, error: { message: String(error && error.message), code: error && error.code } });
  }
});
