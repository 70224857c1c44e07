// Preloaded with NODE_OPTIONS=--import=… (Node 20 refuses --cpu-prof there) into every process
// whose command line contains one of the |-separated strings in $CPL_BENCH_PROF_MATCH.
// SIGUSR2 starts V8's sampling profiler; the next SIGUSR2 stops it and writes a .cpuprofile into
// $CPL_BENCH_PROF_DIR (so a benchmark profiles exactly its measured window). With
// $CPL_BENCH_PROF_AUTOSTART=1 it runs from launch. A profile still running when the process
// exits normally is written too.
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.CPL_BENCH_PROF_DIR;
const patterns = (process.env.CPL_BENCH_PROF_MATCH ?? '').split('|').filter(Boolean);
const argv = process.argv.slice(1).join(' ');
const match = patterns.find((p) => argv.includes(p));
if (dir && match) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 500 });
  let running = false;
  let n = 0;
  const stop = () => {
    running = false;
    // The inspector session answers synchronously on the main thread, so this also works in 'exit'.
    session.post('Profiler.stop', (err, res) => {
      if (!err) writeFileSync(join(dir, `${match.replace(/\W+/g, '_')}-${process.pid}-${n++}.cpuprofile`), JSON.stringify(res.profile));
    });
  };
  process.on('SIGUSR2', () => {
    if (running) return stop();
    running = true;
    session.post('Profiler.start');
  });
  process.on('exit', () => running && stop());
  if (process.env.CPL_BENCH_PROF_AUTOSTART === '1') {
    running = true;
    session.post('Profiler.start');
  }
}
