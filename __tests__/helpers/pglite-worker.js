// PGlite for the tests, in a worker thread: jest's module sandbox cannot run the dynamic
// import() of Node built-ins that PGlite does when it starts, a plain worker can.
// Messages in: { id, op: 'query' | 'exec' | 'close' | 'listen' | 'unlisten', text, values }; out: { id, rows } or
// { id, error }. 'listen' (text: the channel) sends { notification: id, payload } for each NOTIFY, until 'unlisten'
// (text: that id).
const { parentPort } = require('node:worker_threads');
const { PGlite } = require('@electric-sql/pglite');

const db = new PGlite();
const listening = new Map();

parentPort.on('message', async ({ id, op, text, values }) => {
  try {
    let rows = [];
    if (op === 'exec') await db.exec(text);
    else if (op === 'close') await db.close();
    else if (op === 'listen') listening.set(id, await db.listen(text, (payload) => parentPort.postMessage({ notification: id, payload })));
    else if (op === 'unlisten') await listening.get(Number(text))?.();
    else rows = (await db.query(text, values)).rows;
    parentPort.postMessage({ id, rows });
  } catch (error) {
    parentPort.postMessage({ id, error: { message: String(error && error.message), code: error && error.code } });
  }
});
