// The virtual cards of tests/vcard for the browser tiers: a private pcscd with
// one card, run by tests/browser/vcard-env.py (tests/pcscenv.py) until stop().
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as H from './harness.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const OPENSC_MODULE = '/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so';
export const USER_PIN = '123456';
export const PUK = '1234567812345678';

/** Start a card; resolves to {env, dir, missing, tool(...args), stop()}. */
export async function startCard(personality, { lock = false } = {}) {
	const args = [path.join(HERE, 'vcard-env.py'), personality];
	if (lock)
		args.push('--lock');
	const proc = spawn(H.PYTHON, args, { stdio: ['pipe', 'pipe', 'inherit'] });
	let out = '';
	proc.stdout.on('data', (d) => { out += d; });
	const line = await H.waitFor(() => out.includes('\n') && out.split('\n')[0],
		{ timeout: 60000, what: 'the virtual card' });
	const info = JSON.parse(line);
	const env = { ...process.env, ...(info.env || {}) };
	return {
		...info, env,
		/** pkcs11-tool against the card; returns {status, stdout}. */
		tool(...toolArgs) {
			return H.run('pkcs11-tool', ['--module', OPENSC_MODULE, ...toolArgs], { env, allowFail: true });
		},
		async stop() {
			proc.stdin.end();
			await new Promise((resolve) => (proc.exitCode !== null ? resolve() : proc.once('exit', resolve)));
		},
	};
}
