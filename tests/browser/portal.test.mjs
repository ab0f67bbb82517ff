// End-to-end tests of the demo portal (examples/portal/) in Debian's headless
// Chromium, driven by playwright-core (never a downloaded browser).
//
// The page is served over https from portal.example (mapped to 127.0.0.1)
// on a port Chromium is told to treat as PUBLIC, so the browser's Local
// Network Access rules apply exactly as for a real portal on the internet.
// cardbridged is real, with a throw-away SoftHSM2 token; PINs are typed by
// tests/fake-pinentry; pkcs11-tool checks the token independently.  The flows
// shared with the Firefox tier are in flows.mjs.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as H from './harness.mjs';
import * as F from './flows.mjs';

// A hook that hangs (a browser that never answers) must fail the tier, not stall it.
const HOOK_TIMEOUT = 180000;

const why = H.missing({ browser: true });
const skip = why ? { skip: why, timeout: 180000 } : { timeout: 180000 };
const LABEL = F.LABEL;

let chromium, browser, hsm, dir, tls, script;
let daemon, portal, other;	// the allowed portal and a portal whose origin is not allowed
let portalOrigin, otherOrigin;
let ports;			// more public portal ports, one per test that needs its own

before(async () => {
	if (why)
		return;
	chromium = await H.chromium();
	dir = H.tmpdir('cb-browser-');
	hsm = H.makeSoftHSM([LABEL]);
	script = H.pinScript(dir, []);
	tls = H.makeTlsCert(dir, ['portal.example', 'other.example']);
	const portalPort = await H.freePort();
	const otherPort = await H.freePort();
	ports = { restart: await H.freePort(), csp: await H.freePort(), empty: await H.freePort() };
	portalOrigin = `https://portal.example:${portalPort}`;
	otherOrigin = `https://other.example:${otherPort}`;
	// An administrator's strict allow-list: origins not on it are refused in the handshake.
	daemon = await H.startDaemon({ origins: [portalOrigin],
		config: { unknownOrigins: 'refuse' }, env: { ...hsm.env, CB_PINENTRY_SCRIPT: script } });
	portal = await H.startPortal({ helperPort: daemon.port, tls, port: portalPort });
	other = await H.startPortal({ helperPort: daemon.port, tls, port: otherPort });
	browser = await chromium.launch({
		executablePath: H.CHROMIUM,
		args: H.chromiumArgs({ hosts: ['portal.example', 'other.example'],
			publicPorts: [portalPort, otherPort, ...Object.values(ports)] }),
	});
}, { timeout: HOOK_TIMEOUT });

after(async () => {
	await browser?.close();
	await portal?.stop();
	await other?.stop();
	await daemon?.stop();
	hsm?.cleanup();
	if (dir)
		fs.rmSync(dir, { recursive: true, force: true });
}, { timeout: HOOK_TIMEOUT });

/** A fresh browser context (own permissions, own session storage) and page; collects page errors. */
async function openPortal(origin, { grant }) {
	const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 860 }, acceptDownloads: true });
	if (grant)
		await ctx.grantPermissions(['local-network-access'], { origin });
	const page = await ctx.newPage();
	const errors = [];
	const console_ = [];
	page.on('pageerror', (e) => errors.push(String(e)));
	page.on('console', (m) => console_.push(m.text()));
	await page.goto(origin + '/');
	await page.waitForSelector('body[data-ready="true"]');
	return { ctx, page, p: H.adaptPage(page, 'playwright'), errors, console: console_ };
}

async function currentStep(page) {
	return page.evaluate(() => document.body.dataset.step);
}

test('the full wizard on a public https page: token, RSA 2048 key, CSR, demo CA, certificate on the card', skip, async () => {
	const { ctx, page, p, errors } = await openPortal(portalOrigin, { grant: true });
	try {
		await F.wizard(p, {
			hsm, dir, script,
			onCsr: async (csr) => {
				const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-csr')]);
				assert.equal(download.suggestedFilename(), 'request.csr');
				assert.equal(fs.readFileSync(await download.path(), 'utf8'), csr, 'the downloaded CSR is the one shown');
			},
			onIssued: async (pem) => {
				const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-cert')]);
				assert.equal(fs.readFileSync(await download.path(), 'utf8'), pem, 'the downloaded certificate is the issued one');
			},
		});
		assert.deepEqual(errors, [], 'no uncaught errors on the page');
	} finally {
		await ctx.close();
	}
});

test('without the local network access grant the page shows the "allow access" guidance', skip, async () => {
	const { ctx, page, errors, console: log } = await openPortal(portalOrigin, { grant: false });
	try {
		await page.click('#connect');
		const box = page.locator('#connect-status[data-reason="LOCAL_NETWORK_ACCESS_DENIED"]');
		await box.waitFor();
		const text = await box.innerText();
		assert.match(text, /Allow this site to access your card helper/);
		assert.match(text, /Apps on this device/);
		assert.equal(await currentStep(page), 'connect');
		assert.equal((await page.innerText('#connect')).trim(), 'Try again');
		assert.match(await page.innerText('#helper-pill'), /Blocked by the browser/);
		assert.ok(log.some((l) => l.includes('ERR_BLOCKED_BY_LOCAL_NETWORK_ACCESS_CHECKS')),
			'Chromium did block it for local network access');
		await H.screenshot(page, 'lna-denied');
		assert.deepEqual(errors, []);
	} finally {
		await ctx.close();
	}
});

test('a page from an origin the helper does not allow cannot use it, and says so', skip, async () => {
	const { ctx, page, errors } = await openPortal(otherOrigin, { grant: true });
	try {
		await page.click('#connect');
		const box = page.locator('#connect-status[data-reason="ORIGIN_NOT_ALLOWED"]');
		await box.waitFor();
		assert.match(await box.innerText(), /does not accept this website/);
		assert.match(await box.innerText(), new RegExp(otherOrigin.replace(/\./g, '\\.')));
		assert.equal(await currentStep(page), 'connect');
		assert.equal(await page.locator('.token').count(), 0);
		assert.match(daemon.readLog(), new RegExp(`origin not allowed \\(origin "${otherOrigin}"`));
		await H.screenshot(page, 'origin-not-allowed');
		assert.deepEqual(errors, []);
	} finally {
		await ctx.close();
	}
});

test('launch: the click opens cardbridge://start, the handler starts the helper, the page connects', skip, async () => {
	// A helper port with nothing on it, a portal pointing there, and a stub
	// xdg-open first on Chromium's PATH that starts cardbridged the way the
	// desktop handler would.
	const helperPort = await H.freePort();
	const port = await H.freePort();
	const origin = `https://portal.example:${port}`;
	const work = H.tmpdir('cb-launch-');
	const bin = path.join(work, 'bin');
	fs.mkdirSync(bin);
	const record = path.join(work, 'xdg-open.args');
	const pidFile = path.join(work, 'daemon.pid');
	const args = H.daemonArgs({ port: helperPort, origins: [origin] });
	fs.writeFileSync(path.join(bin, 'xdg-open'), [
		'#!/bin/sh',
		`printf '%s\\n' "$*" >> '${record}'`,
		'case "$1" in cardbridge://*) ;; *) exit 3 ;; esac',
		`SOFTHSM2_CONF='${hsm.conf}' XDG_CONFIG_HOME='${work}/xdg' setsid '${H.DAEMON}' ${args.map((a) => `'${a}'`).join(' ')} \\`,
		`	>'${work}/daemon.log' 2>&1 </dev/null &`,
		`echo $! > '${pidFile}'`,
		'exit 0',
		'',
	].join('\n'), { mode: 0o755 });
	const profile = path.join(work, 'profile');
	fs.mkdirSync(path.join(profile, 'Default'), { recursive: true });
	fs.writeFileSync(path.join(profile, 'Default', 'Preferences'), JSON.stringify({
		protocol_handler: { allowed_origin_protocol_pairs: { [origin]: { cardbridge: true } } },
	}));
	const launchPortal = await H.startPortal({ helperPort, tls, port });
	let ctx;
	try {
		ctx = await chromium.launchPersistentContext(profile, {
			executablePath: H.CHROMIUM,
			args: H.chromiumArgs({ hosts: ['portal.example'], publicPorts: [port] }),
			env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
			ignoreHTTPSErrors: true,
			viewport: { width: 1280, height: 860 },
		});
		await ctx.grantPermissions(['local-network-access'], { origin });
		const page = ctx.pages()[0] ?? await ctx.newPage();
		const errors = [];
		page.on('pageerror', (e) => errors.push(String(e)));
		await page.goto(origin + '/');
		await page.waitForSelector('body[data-ready="true"]');
		assert.equal(fs.existsSync(record), false, 'nothing launched before the click');

		await page.click('#connect');
		await page.waitForSelector('#step-token:not([hidden])', { timeout: 30000 });
		assert.equal(fs.readFileSync(record, 'utf8').trim(), 'cardbridge://start');
		await page.locator(`.token[data-label="${LABEL}"]`).waitFor();
		assert.match(fs.readFileSync(path.join(work, 'daemon.log'), 'utf8'), /connected from https:\/\/portal\.example/);
		await H.screenshot(page, 'launch-connected');
		assert.deepEqual(errors, []);
	} finally {
		await ctx?.close();
		await launchPortal.stop();
		if (fs.existsSync(pidFile)) {
			const pid = Number(fs.readFileSync(pidFile, 'utf8'));
			try {
				process.kill(pid, 'SIGTERM');
			} catch {
				// already gone
			}
			await H.waitFor(() => {
				try {
					process.kill(pid, 0);
					return false;
				} catch {
					return true;
				}
			}, { timeout: 10000, what: 'the launched cardbridged to stop' }).catch(() => process.kill(pid, 'SIGKILL'));
		}
		fs.rmSync(work, { recursive: true, force: true });
	}
});

test('cardbridge restarts while the page is open: the page says so, offers the start link, and comes back without a reload', skip, async (t) => {
	const took = await F.survivesRestart({ hsm, script, tls, port: ports.restart, open: (o) => openPortal(o, { grant: true }) });
	t.diagnostic(`Chromium: back ${took} ms after cardbridged started again`);
});

test('a reload after the key pair resumes the activation from session storage', skip, async () => {
	const { ctx, p, errors } = await openPortal(portalOrigin, { grant: true });
	try {
		await F.reloadResumes(p, { hsm, dir, script, origin: portalOrigin, autoConnect: true });
		assert.deepEqual(errors, []);
	} finally {
		await ctx.close();
	}
});

test('while the PIN dialog is open the page shows a running clock and an honest Cancel, which the helper obeys', skip, async () => {
	const { ctx, p, errors } = await openPortal(portalOrigin, { grant: true });
	try {
		const mark = daemon.readLog().length;
		await F.waitingWithCancel(p, { script });
		await H.waitFor(() => /request \d+ cancel: ok/.test(daemon.readLog().slice(mark)), { what: 'the helper to be told' });
		assert.deepEqual(errors, []);
	} finally {
		await ctx.close();
	}
});

test('progress stages from cardbridged are shown in words, in order', skip, async () => {
	const { ctx, p } = await openPortal(portalOrigin, { grant: true });
	try {
		const stages = await F.progressStages(p, { script });
		assert.ok(stages.some((s) => s.stage === 'waitingForPin' && /Enter your PIN/.test(s.title)), JSON.stringify(stages));
		assert.ok(stages.some((s) => s.stage === 'generatingKey' && /Generating the key on the card/.test(s.title)), JSON.stringify(stages));
	} finally {
		await ctx.close();
	}
});

test('after wrong PINs the badge shows what the token reports (SoftHSM2: few tries left)', skip, async () => {
	const { ctx, p } = await openPortal(portalOrigin, { grant: true });
	try {
		await F.pinBadgeFollowsFlags(p, { script });
	} finally {
		await ctx.close();
		// A good PIN clears the count for the next tests.
		fs.writeFileSync(script, `pin ${H.PIN}\n`);
		hsm.tool(LABEL, '--login', '--pin', H.PIN, '-O');
	}
});

test('nothing listening: NOT_RUNNING (Chromium with the permission granted: the probe goes out silently)', skip, async () => {
	const helperPort = await H.freePort();
	const site = await H.startPortal({ helperPort, tls, port: ports.empty });
	const { ctx, p } = await openPortal(`https://portal.example:${ports.empty}`, { grant: true });
	try {
		const r = await F.connectFailure(p, { port: helperPort });
		assert.equal(r.reason, 'NOT_RUNNING', JSON.stringify(r));
		assert.equal(r.engine, 'chromium');
		assert.equal(r.permission, 'granted');
		assert.equal(r.evidence, 'refused');
		assert.equal(r.helperAnswersHttp, false);
	} finally {
		await ctx.close();
		await site.stop();
	}
});

test('a page whose CSP forbids the helper names the blocked URL instead of "not running"', skip, async () => {
	const port = ports.csp;
	const origin = `https://portal.example:${port}`;
	let site = await H.startPortal({ helperPort: daemon.port, tls, port, connectSrc: "'self'" });
	const { ctx, p } = await openPortal(origin, { grant: true });
	try {
		await F.cspNamed(p, daemon.port);
		// ws:// allowed but not http://, and a helper that refuses this origin: the probe is blocked.
		await site.stop();
		site = await H.startPortal({ helperPort: daemon.port, tls, port, connectSrc: `'self' ws://127.0.0.1:${daemon.port}` });
		await F.openPortal(p, origin);
		const r = await F.connectFailure(p, { port: daemon.port });
		assert.equal(r.reason, 'BLOCKED_BY_CSP', JSON.stringify(r));
		assert.equal(r.blockedUrl, `http://127.0.0.1:${daemon.port}/`);
	} finally {
		await ctx.close();
		await site.stop();
	}
});

test('the demo reads well at 360, 700 and 1280 px (screenshots in test-artifacts/browser)', skip, async () => {
	const { ctx, p } = await openPortal(portalOrigin, { grant: true });
	try {
		await F.layout(p, 'connect');
		await F.connectToToken(p);
		await F.layout(p, 'token');
	} finally {
		await ctx.close();
	}
});
