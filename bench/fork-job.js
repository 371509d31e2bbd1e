'use strict';
/**
 * A contender process, forked with its JSON job in argv[2]: its messages as they come, its exit,
 * and the tail of its output for when it dies without a result.
 */
const { fork } = require('node:child_process');
const path = require('node:path');

function forkJob(script, job, execArgv = []) {
  const child = fork(path.join(__dirname, script), [JSON.stringify(job)], {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    execArgv: ['--max-old-space-size=4096', ...execArgv],
  });
  let output = '';
  const keep = (chunk) => {
    output = (output + chunk.toString()).slice(-2_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const messages = [];
  child.on('message', (msg) => messages.push(msg));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal)));
  return {
    child,
    exited,
    /** The first message that matches, or null when the process exits without one. */
    waitFor(match) {
      const found = messages.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve) => {
        const onMessage = (msg) => {
          if (!match(msg)) return;
          child.off('message', onMessage);
          resolve(msg);
        };
        child.on('message', onMessage);
        void exited.then(() => {
          child.off('message', onMessage);
          resolve(messages.find(match) ?? null);
        });
      });
    },
    /** Its result (the last message naming a contender) once it has exited, or a failure saying how it ended. */
    async result() {
      const how = await exited;
      const last = messages.filter((m) => m.contender).pop();
      return last ?? { contender: job.contender, n: job.n, ok: false, error: `exited ${how} without a result: ${output.trim()}` };
    },
  };
}

/** Node flags that make a contender write a .cpuprofile to bench/profiles/ (`--profile`). */
function profilerArgv(contender, n) {
  return [
    '--cpu-prof',
    `--cpu-prof-dir=${path.join(__dirname, 'profiles')}`,
    `--cpu-prof-name=${contender.replace(/\W+/g, '-')}-${n}-${Date.now()}.cpuprofile`,
  ];
}

module.exports = { forkJob, profilerArgv };
