// End-to-end tests of the demo portal and the client library in Debian's
// Firefox ESR (firefox-esr, bookworm-security), headless, driven over
// WebDriver BiDi by puppeteer-core (never a downloaded browser).
//
// The portal is served over https from portal.example (network.dns.localDomains
// maps it to loopback) on ports Firefox counts as PUBLIC
// (network.lna.address_space.public.override), so its local network access
// rules apply as for a portal on the internet: a WebSocket to loopback goes
// out without a question, any other request to a listening loopback port
// waits for the user's answer.  The flows shared with Chromium are in
// flows.mjs; what is Firefox's own is here.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as H from './harness.mjs';
import * as F from './flows.mjs';

// A hook that hangs (a browser that never answers) must fail the tier, not stall it.
const HOOK_TIMEOUT = 180000;

const why = H.missingFirefox();
const skip = why ? { skip: why, timeout: 180000 } : { timeout: 180000 };
const LABEL = F.LABEL;

let ff, hsm, dir, tls, script, daemon, portal, origin, ports;

before(async () => {
	if (why)
		return;
	dir = H.tmpdir('cb-firefox-');
	hsm = H.makeSoftHSM([LABEL]);
	script = H.pinScript(dir, []);
	tls = H.makeTlsCert(dir, ['portal.example', 'other.example', 'skip.example']);
	ports = {};
	for (const name of ['portal', 'other', 'skip', 'restart', 'csp', 'empty', 'local', 'ws'])
		ports[name] = await H.freePort();
	origin = `https://portal.example:${ports.portal}`;
	// Strict, as an administrator sets it: origins not allowed get 403 in the handshake.
	daemon = await H.startDaemon({ origins: [origin, `http://127.0.0.1:${ports.local}`, `https://portal.example:${ports.ws}`], ipv6: true,
		config: { unknownOrigins: 'refuse' }, env: { ...hsm.env, CB_PINENTRY_SCRIPT: script } });
	portal = await H.startPortal({ helperPort: daemon.port, tls, port: ports.portal });
	ff = await H.firefox({
		hosts: ['portal.example', 'other.example', 'skip.example'],
		publicPorts: Object.entries(ports).filter(([k]) => k !== 'local').map(([, v]) => v),
		// What the LocalNetworkAccess policy's SkipDomains sets: for one host only.
		prefs: { 'network.lna.skip-domains': 'skip.example' },
	});
}, { timeout: HOOK_TIMEOUT });

after(async () => {
	await ff?.close();
	await portal?.stop();
	await daemon?.stop();
	hsm?.cleanup();
	if (dir)
		fs.rmSync(dir, { recursive: true, force: true });
}, { timeout: HOOK_TIMEOUT });

/** A fresh browser context (own session storage) and page. */
async function open(url, browser = ff) {
	const ctx = await browser.createBrowserContext();
	const page = await ctx.newPage();
	await page.setViewport({ width: 1280, height: 860 });
	const errors = [];
	// Firefox logs every failed WebSocket as an error; only the page's own count.
	page.on('pageerror', (e) => /can.t establish a connection to the server at ws:/.test(e) || errors.push(String(e)));
	const p = H.adaptPage(page, 'puppeteer');
	await F.openPortal(p, url);
	return { ctx, p, errors };
}

test('Firefox: the full wizard on a public https page, with no question from the browser', skip, async () => {
	const { ctx, p, errors } = await open(origin);
	try {
		assert.equal(await p.evaluate(() => document.body.dataset.engine), 'gecko');
		assert.equal(await p.content('#browser-hint'), '', 'Firefox asks nothing for the connection: no Chrome wording');
		await F.wizard(p, { hsm, dir, script });
		assert.deepEqual(errors, []);
	} finally {
		await ctx.close();
	}
});

test('Firefox: ws://127.0.0.1, ws://localhost and ws://[::1] from the public page, and from http://127.0.0.1', skip, async () => {
	const local = await H.startPortal({ helperPort: daemon.port, port: ports.local });
	// A CSP cannot name [::1] (not a valid host-source): this page allows ws: as a whole.
	const any = await H.startPortal({ helperPort: daemon.port, tls, port: ports.ws, connectSrc: "'self' ws:" });
	const { ctx, p } = await open(`https://portal.example:${ports.ws}`);
	try {
		for (const host of ['127.0.0.1', 'localhost', '[::1]']) {
			const r = await p.evaluate(async (o) => {
				const m = await import('/lib/cardbridge.js');
				const cb = await m.connect(o);
				const tokens = await cb.listTokens();
				cb.close();
				return { name: cb.helper.name, tokens: tokens.map((t) => t.label) };
			}, { port: daemon.port, host });
			assert.deepEqual(r, { name: 'cardbridge', tokens: [LABEL] }, host);
		}
		await F.openPortal(p, `http://127.0.0.1:${ports.local}`);
		const r = await p.evaluate(async (port) => {
			const m = await import('/lib/cardbridge.js');
			const cb = await m.connect({ port });
			cb.close();
			return cb.helper.name;
		}, daemon.port);
		assert.equal(r, 'cardbridge');
	} finally {
		await ctx.close();
		await local.stop();
		await any.stop();
	}
});

test('Firefox: nothing listening is NOT_RUNNING at once (no timing guess, no probe that would make Firefox ask)', skip, async (t) => {
	const helperPort = await H.freePort();
	const site = await H.startPortal({ helperPort, tls, port: ports.empty });
	const { ctx, p } = await open(`https://portal.example:${ports.empty}`);
	try {
		const r = await F.connectFailure(p, { port: helperPort });
		assert.equal(r.reason, 'NOT_RUNNING', JSON.stringify(r));
		assert.equal(r.engine, 'gecko');
		assert.equal(r.permission, 'prompt', 'what Firefox 153 answers for loopback-network');
		assert.equal(r.evidence, 'refused-unprobed');
		assert.ok(r.ms < 2500, `${r.ms} ms`);
		t.diagnostic(`Firefox: a closed port refused the WebSocket in ${r.elapsedMs} ms`);
	} finally {
		await ctx.close();
		await site.stop();
	}
});

test('Firefox: a helper that refuses the origin is not mistaken for a denied permission, and no prompt is waited for', skip, async () => {
	const other = await H.startPortal({ helperPort: daemon.port, tls, port: ports.other });
	const { ctx, p } = await open(`https://other.example:${ports.other}`);
	try {
		const r = await F.connectFailure(p, { port: daemon.port });
		assert.equal(r.reason, 'NOT_RUNNING', JSON.stringify(r));
		assert.equal(r.helperAnswersHttp, null, 'not asked: Firefox would have asked the user');
		assert.ok(r.ms < 2500, `answered in ${r.ms} ms, not after a probe's 3 s`);
		assert.match(r.message, /refused this page/);
		// Why there is no probe: Firefox holds any HTTP request to a listening loopback
		// port for the user's answer, while a closed port fails at once.
		const held = await p.evaluate(async (ports) => Promise.all(ports.map((port) => {
			const c = new AbortController();
			setTimeout(() => c.abort(), 1500);
			return fetch(`http://127.0.0.1:${port}/`, { mode: 'no-cors', signal: c.signal }).then(() => 'answered', (e) => e.name);
		})), [daemon.port, await H.freePort()]);
		assert.deepEqual(held, ['AbortError', 'TypeError'], 'listening: held for a prompt; closed: refused');
		await p.click('#connect');
		await p.waitFor('#connect-status[data-reason="NOT_RUNNING"]', { timeout: 30000 });
		assert.match(await p.text('#connect-status'), /may not accept this website/);
		await p.screenshot('firefox-origin-refused');
	} finally {
		await ctx.close();
		await other.stop();
	}
});

test('Firefox with the portal in LocalNetworkAccess SkipDomains: httpProbe "always" tells ORIGIN_NOT_ALLOWED', skip, async () => {
	const skipSite = await H.startPortal({ helperPort: daemon.port, tls, port: ports.skip });
	const { ctx, p } = await open(`https://skip.example:${ports.skip}`);
	try {
		const r = await F.connectFailure(p, { port: daemon.port, httpProbe: 'always' });
		assert.equal(r.reason, 'ORIGIN_NOT_ALLOWED', JSON.stringify(r));
		assert.equal(r.evidence, 'http-probe');
		assert.ok(r.ms < 2500, `${r.ms} ms: no question held it`);
	} finally {
		await ctx.close();
		await skipSite.stop();
	}
});

test('Firefox: cardbridge restarts while the page is open, and the page comes back by itself', skip, async (t) => {
	const took = await F.survivesRestart({ hsm, script, tls, port: ports.restart, open: (o) => open(o) });
	t.diagnostic(`Firefox: back ${took} ms after cardbridged started again (Firefox delays reconnects to an address that failed)`);
});

test('Firefox: a reload after the key pair resumes the activation (Continue from a click)', skip, async () => {
	const { ctx, p, errors } = await open(origin);
	try {
		await F.reloadResumes(p, { hsm, dir, script, origin, autoConnect: false });
		assert.deepEqual(errors, []);
	} finally {
		await ctx.close();
	}
});

test('Firefox: while the PIN dialog is open, a running clock and Cancel, which the helper obeys', skip, async () => {
	const { ctx, p } = await open(origin);
	try {
		const mark = daemon.readLog().length;
		await F.waitingWithCancel(p, { script });
		await H.waitFor(() => /request \d+ cancel: ok/.test(daemon.readLog().slice(mark)), { what: 'the helper to be told' });
	} finally {
		await ctx.close();
	}
});

test('Firefox: progress stages from cardbridged are shown in words, in order', skip, async () => {
	const { ctx, p } = await open(origin);
	try {
		const stages = await F.progressStages(p, { script });
		assert.ok(stages.some((s) => s.stage === 'generatingKey' && /Generating the key on the card/.test(s.title)), JSON.stringify(stages));
	} finally {
		await ctx.close();
	}
});

test('Firefox: a page whose CSP forbids the helper names the blocked URL', skip, async () => {
	const site = await H.startPortal({ helperPort: daemon.port, tls, port: ports.csp, connectSrc: "'self'" });
	const { ctx, p } = await open(`https://portal.example:${ports.csp}`);
	try {
		await F.cspNamed(p, daemon.port);
	} finally {
		await ctx.close();
		await site.stop();
	}
});

test('Firefox: the demo reads well at 360, 700 and 1280 px', skip, async () => {
	const { ctx, p } = await open(origin);
	try {
		await F.layout(p, 'connect');
		await F.connectToToken(p);
		await F.layout(p, 'token');
	} finally {
		await ctx.close();
	}
});

test('Firefox: nothing listening, Connect opens cardbridge://start, the desktop handler starts the helper, the page connects', skip, async (t) => {
	// Firefox hands cardbridge:// to the desktop's handler through GIO: a
	// .desktop file and mimeapps.list under a throw-away HOME, whose Exec
	// starts cardbridged as `cardbridge open` would.
	const helperPort = await H.freePort();
	const port = await H.freePort();
	const o = `https://portal.example:${port}`;
	const work = H.tmpdir('cb-ff-launch-');
	const record = path.join(work, 'handler.args');
	const pidFile = path.join(work, 'daemon.pid');
	const args = H.daemonArgs({ port: helperPort, origins: [o] });
	const stub = path.join(work, 'handler');
	fs.writeFileSync(stub, [
		'#!/bin/sh',
		`printf '%s\\n' "$*" >> '${record}'`,
		`SOFTHSM2_CONF='${hsm.conf}' XDG_CONFIG_HOME='${work}/xdg' setsid '${H.DAEMON}' ${args.map((a) => `'${a}'`).join(' ')} \\`,
		`	>'${work}/daemon.log' 2>&1 </dev/null &`,
		`echo $! > '${pidFile}'`,
		'',
	].join('\n'), { mode: 0o755 });
	fs.mkdirSync(path.join(work, 'data', 'applications'), { recursive: true });
	fs.mkdirSync(path.join(work, 'config'), { recursive: true });
	fs.writeFileSync(path.join(work, 'data', 'applications', 'cardbridge-test.desktop'),
		`[Desktop Entry]\nType=Application\nName=cardbridge (test)\nExec=${stub} %u\nMimeType=x-scheme-handler/cardbridge;\nNoDisplay=true\n`);
	fs.writeFileSync(path.join(work, 'config', 'mimeapps.list'),
		'[Default Applications]\nx-scheme-handler/cardbridge=cardbridge-test.desktop\n');
	const site = await H.startPortal({ helperPort, tls, port });
	const env = { ...process.env, HOME: work, XDG_DATA_HOME: path.join(work, 'data'), XDG_CONFIG_HOME: path.join(work, 'config') };
	delete env.DISPLAY;
	delete env.WAYLAND_DISPLAY;
	const launcher = await H.firefox({ hosts: ['portal.example'], publicPorts: [port], env,
		// What AutoLaunchProtocolsFromOrigins does for the portal: no "Allow this site to open..." question.
		prefs: { 'network.protocol-handler.external.cardbridge': true, 'security.external_protocol_requires_permission': false } });
	try {
		const { p } = await open(o, launcher);
		assert.equal(fs.existsSync(record), false, 'nothing launched before the click');
		const t0 = Date.now();
		await F.connectToToken(p);
		t.diagnostic(`Firefox: connected ${Date.now() - t0} ms after the click that launched cardbridge`);
		assert.equal(fs.readFileSync(record, 'utf8').trim(), 'cardbridge://start');
		assert.match(fs.readFileSync(path.join(work, 'daemon.log'), 'utf8'), /connected from https:\/\/portal\.example/);
		await p.screenshot('firefox-launch-connected');
	} finally {
		await launcher.close();
		await site.stop();
		if (fs.existsSync(pidFile)) {
			const pid = Number(fs.readFileSync(pidFile, 'utf8'));
			try {
				process.kill(pid, 'SIGTERM');
			} catch {
				// already gone
			}
		}
		fs.rmSync(work, { recursive: true, force: true });
	}
});
