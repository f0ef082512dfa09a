// Run by hostname.test.ts inside a private UTS namespace (unshare --uts):
// sets the hostname given as argument with setHostname(), then prints what
// hostname(1) reports there.
import { execFileSync } from 'node:child_process';
import { setHostname } from '../../../src/agent/sandbox/hostname.js';

const changed = await setHostname(process.argv[2] ?? '');
process.stdout.write(`${changed} ${execFileSync('hostname', { encoding: 'utf8' }).trim()}\n`);
