// Fixtures for the browser and JS-client tiers: a real cardbridged with a
// throw-away SoftHSM2 token and the scripted pinentry, the demo portal server
// (examples/demo-ca.py) over http or https, and Debian's Chromium driven by
// playwright-core.  Nothing is mocked and nothing is downloaded.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const SRCDIR = process.env.CB_SRCDIR || path.resolve(HERE, '..', '..');
export const BUILDDIR = process.env.CB_BUILDDIR || SRCDIR;
export const DAEMON = process.env.CB_DAEMON || path.join(BUILDDIR, 'daemon', 'cardbridged');
export const HELPER = process.env.CB_HELPER || path.join(BUILDDIR, 'pkcs11', 'cardbridge-pkcs11-helper');
export const CHROMIUM = process.env.CB_CHROMIUM || '/usr/bin/chromium';
export const PYTHON = '/usr/bin/python3';
export const FAKE_PINENTRY = path.join(SRCDIR, 'tests', 'fake-pinentry');
export const DEMO_CA = path.join(SRCDIR, 'examples', 'demo-ca.py');
export const SOFTHSM_MODULE = '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so';
export const ARTIFACTS = path.join(BUILDDIR, 'test-artifacts', 'browser');
export const PIN = '123456';
export const SO_PIN = '12345678';
export const CLIENT_URL = new URL('../../clients/js/cardbridge.js', import.meta.url).href;

const children = new Set();
// An interrupted run (Ctrl-C, make killed) still stops its daemons and portals.
for (const [sig, n] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]])
	process.once(sig, () => process.exit(128 + n));
process.on('exit', () => {
	for (const c of children)
		try {
			c.kill('SIGKILL');
		} catch {
			// gone
		}
});

function which(cmd) {
	return (process.env.PATH || '').split(':').some((d) => d && isExecutable(path.join(d, cmd)));
}

function isExecutable(p) {
	try {
		fs.accessSync(p, fs.constants.X_OK);
		return fs.statSync(p).isFile();
	} catch {
		return false;
	}
}

/** Why this tier cannot run here, or null.  `browser` adds Chromium. */
export function missing({ browser = false } = {}) {
	if (!isExecutable(DAEMON))
		return `cardbridged not built (${DAEMON})`;
	if (!isExecutable(HELPER))
		return `cardbridge-pkcs11-helper not built (${HELPER})`;
	if (!fs.existsSync(SOFTHSM_MODULE))
		return 'SoftHSM2 not installed';
	for (const tool of ['softhsm2-util', 'pkcs11-tool', 'openssl'])
		if (!which(tool))
			return `${tool} not installed`;
	if (spawnSync(PYTHON, ['-c', 'import cryptography'], { stdio: 'ignore' }).status !== 0)
		return 'python3-cryptography not installed';
	if (!fs.existsSync(path.join(HERE, 'node_modules', 'ws')))
		return 'tests/browser/node_modules missing (npm ci in tests/browser)';
	if (browser) {
		if (!isExecutable(CHROMIUM))
			return `chromium not installed (${CHROMIUM})`;
		if (!fs.existsSync(path.join(HERE, 'node_modules', 'playwright-core')))
			return 'playwright-core missing (npm ci in tests/browser)';
	}
	return null;
}

export function tmpdir(prefix) {
	return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function freePort() {
	return new Promise((resolve, reject) => {
		const s = net.createServer();
		s.unref();
		s.on('error', reject);
		s.listen(0, '127.0.0.1', () => {
			const { port } = s.address();
			s.close(() => resolve(port));
		});
	});
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Poll fn until it returns a truthy value; throws after `timeout` ms. */
export async function waitFor(fn, { timeout = 15000, interval = 50, what = 'condition' } = {}) {
	const deadline = Date.now() + timeout;
	for (;;) {
		const v = await fn();
		if (v)
			return v;
		if (Date.now() > deadline)
			throw new Error(`timed out waiting for ${what}`);
		await sleep(interval);
	}
}

function tcpOpen(port) {
	return new Promise((resolve) => {
		const s = net.connect({ port, host: '127.0.0.1' });
		s.once('connect', () => {
			s.destroy();
			resolve(true);
		});
		s.once('error', () => resolve(false));
	});
}

export function run(cmd, args, opts = {}) {
	const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120000, ...opts });
	if (r.status !== 0 && !opts.allowFail)
		throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr || r.error}`);
	return r;
}

/** A SoftHSM2 configuration of its own with one initialised token per label. */
export function makeSoftHSM(labels = ['cardbridge demo']) {
	const dir = tmpdir('cb-js-softhsm-');
	fs.mkdirSync(path.join(dir, 'tokens'));
	const conf = path.join(dir, 'softhsm2.conf');
	fs.writeFileSync(conf, `directories.tokendir = ${dir}/tokens\nobjectstore.backend = file\nlog.level = ERROR\n`);
	const env = { ...process.env, SOFTHSM2_CONF: conf };
	for (const label of labels)
		run('softhsm2-util', ['--init-token', '--free', '--label', label, '--so-pin', SO_PIN, '--pin', PIN], { env });
	return {
		dir, conf, env, module: SOFTHSM_MODULE,
		/** pkcs11-tool on one token; returns stdout. */
		tool(label, ...args) {
			return run('pkcs11-tool', ['--module', SOFTHSM_MODULE, '--token-label', label, ...args], { env }).stdout;
		},
		/** `pkcs11-tool -O --login` parsed into objects {kind, type, label, id, ...}. */
		objects(label) {
			return parseObjects(this.tool(label, '-O', '--login', '--pin', PIN));
		},
		cleanup() {
			fs.rmSync(dir, { recursive: true, force: true });
		},
	};
}

export function parseObjects(text) {
	const out = [];
	for (const line of text.split('\n')) {
		const head = line.match(/^(Private Key|Public Key|Certificate|Data|Secret Key) Object;\s*(.*)$/);
		if (head) {
			out.push({ kind: head[1], type: head[2].trim() });
			continue;
		}
		const f = line.match(/^\s+([A-Za-z ]+):\s*(.*)$/);
		if (f && out.length)
			out[out.length - 1][f[1].trim().toLowerCase()] ??= f[2].trim();
	}
	for (const o of out)
		o.id = (o.id || '').toLowerCase();
	return out;
}

/** A file of pinentry actions for tests/fake-pinentry (one per dialog). */
export function pinScript(dir, lines) {
	const p = path.join(dir, 'pinentry-script');
	fs.writeFileSync(p, lines.map((l) => l + '\n').join(''));
	return p;
}

/** The command line cardbridged is started with (also used by the launch stub). */
export function daemonArgs({ port, origins, modules = [SOFTHSM_MODULE], config = null, ipv6 = false }) {
	const args = ['--no-default-config', '--listen', `127.0.0.1:${port}`, '--helper', HELPER,
		'--pinentry', FAKE_PINENTRY, '--log-level', 'debug'];
	if (ipv6)
		args.push('--listen', `[::1]:${port}`);
	for (const o of origins)
		args.push('--allow-origin', o);
	for (const m of modules)
		args.push('--module', m);
	if (config)
		args.push('--config', config);
	return args;
}

/** Start cardbridged on a free port; resolves once it accepts TCP. */
export async function startDaemon({ origins, env = process.env, port = null, modules, config = null, dir = null, ipv6 = false }) {
	port ??= await freePort();
	const ownDir = !dir;
	dir ??= tmpdir('cb-js-daemon-');
	let configPath = null;
	if (config) {
		configPath = path.join(dir, 'config.json');
		fs.writeFileSync(configPath, JSON.stringify(config));
	}
	const logPath = path.join(dir, 'daemon.log');
	const log = fs.openSync(logPath, 'w');
	const proc = spawn(DAEMON, daemonArgs({ port, origins, modules, config: configPath, ipv6 }), {
		env: { ...env, XDG_CONFIG_HOME: path.join(dir, 'xdg') },
		stdio: ['ignore', log, log],
	});
	fs.closeSync(log);
	children.add(proc);
	let exited = null;
	proc.once('exit', (code, sig) => {
		exited = { code, sig };
		children.delete(proc);
	});
	const readLog = () => fs.readFileSync(logPath, 'utf8');
	await waitFor(async () => {
		if (exited)
			throw new Error(`cardbridged exited (${exited.code ?? exited.sig}):\n${readLog().slice(-3000)}`);
		return tcpOpen(port);
	}, { timeout: 15000, what: 'cardbridged to listen' });
	return {
		port, proc, dir, readLog,
		async stop() {
			if (!exited) {
				proc.kill('SIGTERM');
				await waitFor(() => exited, { timeout: 10000, what: 'cardbridged to stop' }).catch(() => proc.kill('SIGKILL'));
			}
			if (ownDir)
				fs.rmSync(dir, { recursive: true, force: true });
		},
	};
}

/** A self-signed TLS certificate for the portal's test names. */
export function makeTlsCert(dir, names) {
	const key = path.join(dir, 'tls.key');
	const cert = path.join(dir, 'tls.pem');
	run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
		'-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${names[0]}`,
		'-addext', `subjectAltName=${names.map((n) => 'DNS:' + n).join(',')}`]);
	return { key, cert };
}

/** examples/demo-ca.py: the portal page, the client library and the demo CA. */
export async function startPortal({ helperPort, tls = null, port = null, connectSrc = null }) {
	port ??= await freePort();
	const dir = tmpdir('cb-js-portal-');
	const args = [DEMO_CA, '--port', String(port), '--helper-port', String(helperPort), '--state', dir, '--quiet'];
	if (tls)
		args.push('--tls-cert', tls.cert, '--tls-key', tls.key);
	if (connectSrc)
		args.push('--connect-src', connectSrc);
	const proc = spawn(PYTHON, args, { stdio: ['ignore', 'pipe', 'pipe'] });
	children.add(proc);
	let out = '';
	proc.stdout.on('data', (d) => { out += d; });
	proc.stderr.on('data', (d) => { out += d; });
	let exited = false;
	proc.once('exit', () => {
		exited = true;
		children.delete(proc);
	});
	await waitFor(() => {
		if (exited)
			throw new Error('demo-ca.py exited: ' + out);
		return out.includes('serving');
	}, { what: 'demo-ca.py' });
	return {
		port, dir,
		caPem: () => fs.readFileSync(path.join(dir, 'demo-ca.pem'), 'utf8'),
		async stop() {
			if (!exited)
				proc.kill('SIGTERM');
			await waitFor(() => exited, { timeout: 5000, what: 'demo-ca.py to stop' }).catch(() => proc.kill('SIGKILL'));
			fs.rmSync(dir, { recursive: true, force: true });
		},
	};
}

/** Chromium flags for tests (machine notes): no network beyond loopback. */
export function chromiumArgs({ hosts = [], publicPorts = [] } = {}) {
	const args = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
		'--disable-background-networking', '--disable-component-update', '--disable-sync',
		'--disable-dev-shm-usage'];
	if (hosts.length)
		args.push(`--host-resolver-rules=${hosts.map((h) => `MAP ${h} 127.0.0.1`).join(', ')}`);
	if (publicPorts.length)
		args.push(`--ip-address-space-overrides=${publicPorts.map((p) => `127.0.0.1:${p}=public`).join(',')}`);
	return args;
}

export async function chromium() {
	const pw = await import('playwright-core');
	return pw.chromium;
}

export const FIREFOX = process.env.CB_FIREFOX || '/usr/bin/firefox-esr';

/** Why the Firefox tier cannot run here, or null. */
export function missingFirefox() {
	const why = missing();
	if (why)
		return why;
	if (!isExecutable(FIREFOX))
		return `firefox-esr not installed (${FIREFOX})`;
	if (!fs.existsSync(path.join(HERE, 'node_modules', 'puppeteer-core')))
		return 'puppeteer-core missing (npm ci in tests/browser)';
	return null;
}

/**
 * Debian's Firefox ESR over WebDriver BiDi (puppeteer-core; no browser is
 * downloaded).  `hosts` resolve to loopback; `publicPorts` make pages on
 * 127.0.0.1:PORT count as public, so Firefox's local network access rules
 * apply as for a portal on the internet.
 */
export async function firefox({ hosts = [], publicPorts = [], prefs = {}, env = process.env } = {}) {
	const { default: puppeteer } = await import('puppeteer-core');
	return puppeteer.launch({
		browser: 'firefox',
		executablePath: FIREFOX,
		headless: true,
		acceptInsecureCerts: true,
		env,
		extraPrefsFirefox: {
			'network.dns.localDomains': hosts.join(','),
			'network.lna.address_space.public.override': publicPorts.map((p) => `127.0.0.1:${p}`).join(','),
			...prefs,
		},
	});
}

/**
 * The few page calls the shared flows (flows.mjs) need, over Playwright's
 * page (Chromium) or Puppeteer's (Firefox), which spell them differently.
 */
export function adaptPage(page, kind) {
	const pw = kind === 'playwright';
	return {
		raw: page,
		browser: pw ? 'chromium' : 'firefox',
		goto: (url) => page.goto(url),
		reload: () => page.reload(),
		click: (sel) => page.click(sel),
		select: (sel, value) => (pw ? page.selectOption(sel, value) : page.select(sel, value)),
		text: (sel) => (pw ? page.innerText(sel) : page.$eval(sel, (e) => e.innerText)),
		content: (sel) => (pw ? page.textContent(sel) : page.$eval(sel, (e) => e.textContent)),
		count: (sel) => page.$$eval(sel, (es) => es.length),
		visible: (sel) => page.$eval(sel, (e) => e.checkVisibility()).catch(() => false),
		waitFor: (sel, { timeout = 30000, hidden = false } = {}) => (pw
			? page.waitForSelector(sel, { timeout, state: hidden ? 'hidden' : 'visible' })
			: page.waitForSelector(sel, { timeout, visible: !hidden, hidden })),
		evaluate: (fn, arg) => page.evaluate(fn, arg),
		size: (width, height) => (pw ? page.setViewportSize({ width, height }) : page.setViewport({ width, height })),
		async screenshot(name) {
			fs.mkdirSync(ARTIFACTS, { recursive: true });
			const file = path.join(ARTIFACTS, `${name}.png`);
			await page.screenshot({ path: file, fullPage: true });
			return file;
		},
	};
}

/** Save a screenshot under test-artifacts/browser/. */
export async function screenshot(page, name) {
	fs.mkdirSync(ARTIFACTS, { recursive: true });
	const file = path.join(ARTIFACTS, `${name}.png`);
	await page.screenshot({ path: file, fullPage: true });
	return file;
}

/** Sign a CSR with a throw-away CA (openssl CLI); returns {cert, caPem}. */
export function signWithTestCA(dir, csrPem) {
	const caKey = path.join(dir, 'ca.key');
	const caCert = path.join(dir, 'ca.pem');
	if (!fs.existsSync(caCert))
		run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
			'-keyout', caKey, '-out', caCert, '-days', '30', '-subj', '/CN=cardbridge JS Test CA']);
	const csr = path.join(dir, 'req.pem');
	const out = path.join(dir, 'cert.pem');
	fs.writeFileSync(csr, csrPem);
	run('openssl', ['x509', '-req', '-in', csr, '-CA', caCert, '-CAkey', caKey, '-set_serial',
		String(0x1000 + Math.floor(Math.random() * 1e6)), '-days', '30', '-sha256', '-out', out]);
	return { cert: fs.readFileSync(out, 'utf8'), caPem: fs.readFileSync(caCert, 'utf8') };
}
