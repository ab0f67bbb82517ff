// End-to-end tests of the demo portal (examples/portal/) in Debian's headless
// Chromium, driven by playwright-core (never a downloaded browser).
//
// The page is served over https from portal.example (mapped to 127.0.0.1)
// on a port Chromium is told to treat as PUBLIC, so the browser's Local
// Network Access rules apply exactly as for a real portal on the internet.
// cardbridged is real, with a throw-away SoftHSM2 token; PINs are typed by
// tests/fake-pinentry; pkcs11-tool checks the token independently.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as H from './harness.mjs';

const why = H.missing({ browser: true });
const skip = why ? { skip: why, timeout: 180000 } : { timeout: 180000 };
const LABEL = 'cardbridge demo';

let chromium, browser, hsm, dir, tls, script;
let daemon, portal, other;	// the allowed portal and a portal whose origin is not allowed
let portalOrigin, otherOrigin;

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
	portalOrigin = `https://portal.example:${portalPort}`;
	otherOrigin = `https://other.example:${otherPort}`;
	// An administrator's strict allow-list: origins not on it are refused in the handshake.
	daemon = await H.startDaemon({ origins: [portalOrigin], config: { unknownOrigins: 'refuse' },
		env: { ...hsm.env, CB_PINENTRY_SCRIPT: script } });
	portal = await H.startPortal({ helperPort: daemon.port, tls, port: portalPort });
	other = await H.startPortal({ helperPort: daemon.port, tls, port: otherPort });
	browser = await chromium.launch({
		executablePath: H.CHROMIUM,
		args: H.chromiumArgs({ hosts: ['portal.example', 'other.example'], publicPorts: [portalPort, otherPort] }),
	});
});

after(async () => {
	await browser?.close();
	await portal?.stop();
	await other?.stop();
	await daemon?.stop();
	hsm?.cleanup();
	if (dir)
		fs.rmSync(dir, { recursive: true, force: true });
});

/** A fresh browser context (own permissions) and page; collects page errors. */
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
	return { ctx, page, errors, console: console_ };
}

async function currentStep(page) {
	return page.evaluate(() => document.body.dataset.step);
}

test('the full wizard on a public https page: token, RSA 2048 key, CSR, demo CA, certificate on the card', skip, async () => {
	const { ctx, page, errors } = await openPortal(portalOrigin, { grant: true });
	try {
		fs.writeFileSync(script, `pin ${H.PIN}\npin ${H.PIN}\n`);
		await H.screenshot(page, 'wizard-1-connect');

		await page.click('#connect');
		await page.waitForSelector('#step-token:not([hidden])');
		const tokenCard = page.locator(`.token[data-label="${LABEL}"]`);
		await tokenCard.waitFor();
		assert.match(await tokenCard.innerText(), /PIN OK/);
		assert.equal(await tokenCard.locator('input').isChecked(), true, 'the only token is preselected');
		assert.match(await page.innerText('#helper-pill'), /connected/i);
		assert.match(await page.innerText('#card-state'), new RegExp(LABEL));
		await H.screenshot(page, 'wizard-2-token');

		await page.click('#token-continue');
		await page.waitForSelector('#step-generate:not([hidden])');
		const options = await page.$$eval('#algorithm option', (os) => os.map((o) => o.value));
		assert.deepEqual(options, ['RSA-2048', 'RSA-3072', 'RSA-4096', 'EC-P-256', 'EC-P-384'],
			'exactly the key types the token reports');
		assert.equal(await page.inputValue('#algorithm'), 'RSA-2048', 'RSA 2048 is the default');
		await H.screenshot(page, 'wizard-3-generate');

		await page.click('#generate');
		await page.waitForSelector('#generate-result:not([hidden])', { timeout: 120000 });
		const keyId = (await page.innerText('#key-id')).trim();
		const csr = await page.inputValue('#csr');
		assert.match(keyId, /^[0-9a-f]{40}$/);
		assert.match(csr, /^-----BEGIN CERTIFICATE REQUEST-----/);
		const csrFile = path.join(dir, 'wizard.csr');
		fs.writeFileSync(csrFile, csr);
		const v = H.run('openssl', ['req', '-in', csrFile, '-verify', '-noout', '-text']);
		assert.match(v.stdout + v.stderr, /verify OK/i);
		assert.match(v.stdout, /Public-Key: \(2048 bit\)/);
		assert.match(v.stdout, /CN\s*=\s*Joe Doe/);
		const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-csr')]);
		assert.equal(download.suggestedFilename(), 'request.csr');
		assert.equal(fs.readFileSync(await download.path(), 'utf8'), csr, 'the downloaded CSR is the one shown');
		await H.screenshot(page, 'wizard-4-csr');

		await page.click('#ca-continue');
		await page.waitForSelector('#step-ca:not([hidden])');
		assert.match(await page.innerText('#step-ca h1'), /DEMO CA/);
		await H.screenshot(page, 'wizard-5-ca');
		await page.click('#sign');
		await page.waitForSelector('#ca-result:not([hidden])');
		assert.match(await page.innerText('#cert-subject'), /Joe Doe/);
		assert.match(await page.getAttribute('#cert-subject', 'title'), /CN=Joe Doe/);
		const [certDownload] = await Promise.all([page.waitForEvent('download'), page.click('#download-cert')]);
		const issuedPem = path.join(dir, 'issued.pem');
		fs.copyFileSync(await certDownload.path(), issuedPem);
		await H.screenshot(page, 'wizard-6-issued');

		await page.click('#install-continue');
		await page.waitForSelector('#step-install:not([hidden])');
		await page.click('#install');
		await page.waitForSelector('#install-result:not([hidden])', { timeout: 120000 });
		const installed = await page.innerText('#installed-table');
		assert.match(installed, /Joe Doe[\s\S]*Your certificate[\s\S]*Stored/);
		assert.match(await page.innerText('#install-token'), new RegExp(keyId));
		await H.screenshot(page, 'wizard-7-installed');

		await page.click('#done-continue');
		await page.waitForSelector('#cards-certs tbody tr.new');
		assert.match(await page.innerText('#cards-certs tbody tr.new'), /Joe Doe[\s\S]*On the card/);
		await H.screenshot(page, 'wizard-8-done');

		// The token, seen by pkcs11-tool: the certificate under the key's id,
		// byte for byte the one the demo CA issued.
		const objects = hsm.objects(LABEL);
		const certs = objects.filter((o) => o.kind === 'Certificate' && o.id === keyId);
		assert.equal(certs.length, 1, `one certificate with ID ${keyId}:\n${JSON.stringify(objects, null, 1)}`);
		assert.ok(objects.some((o) => o.kind === 'Private Key' && o.id === keyId), 'its private key has the same ID');
		const onCard = path.join(dir, 'on-card.der');
		hsm.tool(LABEL, '--read-object', '--type', 'cert', '--id', keyId, '-o', onCard);
		const issuedDer = H.run('openssl', ['x509', '-in', issuedPem, '-outform', 'DER'], { encoding: 'buffer' }).stdout;
		assert.ok(Buffer.compare(fs.readFileSync(onCard), issuedDer) === 0, 'the certificate on the card is the issued one');
		const subj = H.run('openssl', ['x509', '-inform', 'DER', '-in', onCard, '-noout', '-subject', '-issuer']).stdout;
		assert.match(subj, /CN\s*=\s*Joe Doe/);
		assert.match(subj, /issuer=.*cardbridge Demo CA/);
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
