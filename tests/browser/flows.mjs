// The demo portal's end-to-end flows, written once and run in each browser
// tier: portal.test.mjs (Chromium, Playwright) and firefox.test.mjs
// (Firefox ESR, Puppeteer over WebDriver BiDi).  Each takes a page adapted
// by H.adaptPage(); the tier files own the browsers, daemons and portals.
// What the card holds afterwards is checked with pkcs11-tool and openssl.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as H from './harness.mjs';
import { PROGRESS_STAGES } from '../../clients/js/contract.js';

export const LABEL = 'cardbridge demo';
const FLOW_KEY = 'cardbridge-demo:activation';

export async function openPortal(p, origin) {
	await p.goto(origin + '/');
	await p.waitFor('body[data-ready="true"]');
}

export const step = (p) => p.evaluate(() => document.body.dataset.step);

/** Connect from the first step and wait for the card list. */
export async function connectToToken(p) {
	await p.click('#connect');
	await p.waitFor('#step-token:not([hidden])', { timeout: 60000 });
	await p.waitFor(`.token[data-label="${LABEL}"]`);
}

/** From the first step to a key generation under way. */
async function startKeygen(p, algorithm) {
	await connectToToken(p);
	await p.click('#token-continue');
	await p.waitFor('#step-generate:not([hidden])');
	await p.select('#algorithm', algorithm);
	await p.click('#generate');
}

/**
 * The whole activation on the page: token, key pair, CSR, demo CA,
 * certificate on the card; the card checked with pkcs11-tool.  Hooks
 * onCsr/onIssued let a tier check what only it can (downloads).
 */
export async function wizard(p, { hsm, dir, script, onCsr = null, onIssued = null }) {
	fs.writeFileSync(script, `pin ${H.PIN}\npin ${H.PIN}\n`);
	const shot = (n) => p.screenshot(`${p.browser}-wizard-${n}`);
	await shot('1-connect');
	await connectToToken(p);
	const card = `.token[data-label="${LABEL}"]`;
	assert.match(await p.text(card), /PIN not blocked/);
	assert.equal(await p.evaluate((s) => document.querySelector(s + ' input').checked, card), true, 'the only token is preselected');
	assert.match(await p.text('#helper-pill'), /connected/i);
	assert.match(await p.text('#card-state'), new RegExp(LABEL));
	await shot('2-token');

	await p.click('#token-continue');
	await p.waitFor('#step-generate:not([hidden])');
	const options = await p.evaluate(() => [...document.querySelectorAll('#algorithm option')].map((o) => o.value));
	assert.deepEqual(options, ['RSA-2048', 'RSA-3072', 'RSA-4096', 'EC-P-256', 'EC-P-384'], 'exactly the key types the token reports');
	assert.equal(await p.evaluate(() => document.querySelector('#algorithm').value), 'RSA-2048', 'RSA 2048 is the default');
	await shot('3-generate');

	await p.click('#generate');
	await p.waitFor('#generate-result:not([hidden])', { timeout: 120000 });
	const keyId = (await p.content('#key-id')).trim();
	const csr = await p.evaluate(() => document.querySelector('#csr').value);
	assert.match(keyId, /^[0-9a-f]{40}$/);
	assert.equal(await p.visible('#key-id'), false, 'the key ID only in the details');
	assert.match(await p.text('#key-facts'), /Joe Doe \d{4}[\s\S]*RSA 2048 bit[\s\S]*Joe Doe/);
	const csrFile = path.join(dir, `${p.browser}-wizard.csr`);
	fs.writeFileSync(csrFile, csr);
	const v = H.run('openssl', ['req', '-in', csrFile, '-verify', '-noout', '-text']);
	assert.match(v.stdout + v.stderr, /verify OK/i);
	assert.match(v.stdout, /Public-Key: \(2048 bit\)/);
	assert.match(v.stdout, /CN\s*=\s*Joe Doe/);
	await onCsr?.(csr);
	await shot('4-csr');

	await p.click('#ca-continue');
	await p.waitFor('#step-ca:not([hidden])');
	assert.match(await p.text('#step-ca h1'), /DEMO CA/);
	await p.click('#sign');
	await p.waitFor('#ca-result:not([hidden])');
	assert.match(await p.text('#cert-subject'), /Joe Doe/);
	const issued = await p.evaluate((k) => JSON.parse(sessionStorage.getItem(k)).issued.certificate, FLOW_KEY);
	await onIssued?.(issued);
	await shot('5-issued');

	await p.click('#install-continue');
	await p.waitFor('#step-install:not([hidden])');
	await p.click('#install');
	await p.waitFor('#install-result:not([hidden])', { timeout: 120000 });
	assert.match(await p.text('#installed-table'), /Joe Doe[\s\S]*Your certificate[\s\S]*Stored/);
	assert.match(await p.text('#install-token'), /next to the key "Joe Doe \d{4}"/);
	assert.equal((await p.content('#install-key-id')).trim(), keyId);
	await shot('6-installed');

	await p.click('#done-continue');
	await p.waitFor('#cards-certs tbody tr.new');
	assert.match(await p.text('#cards-certs tbody tr.new'), /Joe Doe[\s\S]*On the card/);
	await shot('7-done');
	assertOnCard(hsm, dir, keyId, issued);
	return { keyId };
}

/** pkcs11-tool: the certificate under the key's ID, byte for byte the issued one. */
export function assertOnCard(hsm, dir, keyId, issuedPem) {
	const objects = hsm.objects(LABEL);
	const certs = objects.filter((o) => o.kind === 'Certificate' && o.id === keyId);
	assert.equal(certs.length, 1, `one certificate with ID ${keyId}:\n${JSON.stringify(objects, null, 1)}`);
	assert.ok(objects.some((o) => o.kind === 'Private Key' && o.id === keyId), 'its private key has the same ID');
	const onCard = path.join(dir, `on-card-${keyId}.der`);
	hsm.tool(LABEL, '--read-object', '--type', 'cert', '--id', keyId, '-o', onCard);
	const pem = path.join(dir, `issued-${keyId}.pem`);
	fs.writeFileSync(pem, issuedPem);
	const issuedDer = H.run('openssl', ['x509', '-in', pem, '-outform', 'DER'], { encoding: 'buffer' }).stdout;
	assert.ok(Buffer.compare(fs.readFileSync(onCard), issuedDer) === 0, 'the certificate on the card is the issued one');
}

/**
 * cardbridge stops while the page shows the cards, and starts again: the
 * page says so on the step, offers the start link, and comes back by
 * itself.  Runs its own helper and portal on `port` (a public one), opens
 * the page with open(origin) -> {ctx, p, errors}.  Returns how long the page
 * took to reconnect after the start, in ms.
 */
export async function survivesRestart({ hsm, script, tls, port, open }) {
	const origin = `https://portal.example:${port}`;
	const helperPort = await H.freePort();
	const env = { ...hsm.env, CB_PINENTRY_SCRIPT: script };
	let d = await H.startDaemon({ origins: [origin], env, port: helperPort });
	const site = await H.startPortal({ helperPort, tls, port });
	const { ctx, p, errors } = await open(origin);
	try {
		await connectToToken(p);
		await d.stop();
		await p.waitFor('#no-helper');
		assert.equal(await p.evaluate(() => document.querySelector('#token-continue').disabled), true);
		await p.waitFor('#helper-banner[data-reason="NOT_RUNNING"]', { timeout: 20000 });
		assert.match(await p.text('#helper-banner'), /cardbridge stopped[\s\S]*reconnects by itself/);
		assert.equal(await p.count('#banner-start'), 1, 'Start cardbridge is offered');
		assert.match(await p.text('#helper-pill'), /Reconnecting|waits/);
		await p.screenshot(`${p.browser}-restart-down`);
		d = await H.startDaemon({ origins: [origin], env, port: helperPort });
		const t0 = Date.now();
		await p.waitFor(`.token[data-label="${LABEL}"]`, { timeout: 90000 });
		const took = Date.now() - t0;
		await p.waitFor('#helper-banner', { hidden: true });
		assert.match(await p.text('#helper-pill'), /connected/i);
		assert.equal(await p.evaluate(() => document.querySelector('#token-continue').disabled), false);
		assert.equal(await step(p), 'token', 'never reloaded: still on the same step');
		assert.match(d.readLog(), /events\.subscribe/, 'subscribed again');
		await p.screenshot(`${p.browser}-restart-back`);
		assert.deepEqual(errors, []);
		return took;
	} finally {
		await ctx.close();
		await site.stop();
		await d.stop();
	}
}

/** A reload after keygen resumes with the same key and CSR; after install, shows it done. */
export async function reloadResumes(p, { hsm, dir, script, origin, autoConnect }) {
	fs.writeFileSync(script, `pin ${H.PIN}\npin ${H.PIN}\n`);
	await startKeygen(p, 'EC-P-256');
	await p.waitFor('#generate-result:not([hidden])', { timeout: 120000 });
	const keyId = (await p.content('#key-id')).trim();
	const csr = await p.evaluate(() => document.querySelector('#csr').value);

	const resume = async () => {
		await openPortal(p, origin);
		assert.match(await p.content('#resume-note'), new RegExp(`Continue where you left off.*${LABEL}`));
		if (!autoConnect)
			await p.click('#connect');	// where connecting could make the browser ask: from a click
	};
	await resume();
	await p.waitFor('#generate-result:not([hidden])', { timeout: 60000 });
	await p.waitFor('#key-restored');
	assert.equal((await p.content('#key-id')).trim(), keyId);
	assert.equal(await p.evaluate(() => document.querySelector('#csr').value), csr, 'the same CSR');
	await p.screenshot(`${p.browser}-resumed-csr`);

	await p.click('#ca-continue');
	await p.click('#sign');
	await p.waitFor('#ca-result:not([hidden])');
	await p.click('#install-continue');
	await p.click('#install');
	await p.waitFor('#install-result:not([hidden])', { timeout: 120000 });
	const issued = await p.evaluate((k) => JSON.parse(sessionStorage.getItem(k)).issued.certificate, FLOW_KEY);
	assertOnCard(hsm, dir, keyId, issued);

	await resume();
	await p.waitFor('#step-done:not([hidden])', { timeout: 60000 });
	await p.waitFor('#cards-certs tbody tr.new');
	await p.click('#restart');
	assert.equal(await p.evaluate((k) => sessionStorage.getItem(k), FLOW_KEY), null, 'a new activation forgets the old one');
}

/** The client library in the page, against a port where nothing listens. */
export async function connectFailure(p, options) {
	return p.evaluate(async (o) => {
		const m = await import('/lib/cardbridge.js');
		const t0 = performance.now();
		try {
			(await m.connect(o)).close();
			return { reason: 'CONNECTED' };
		} catch (e) {
			return { reason: e.reason, message: e.message, ms: Math.round(performance.now() - t0), ...e.details };
		}
	}, options);
}

/** The page's CSP forbids the helper: the page names the blocked URL. */
export async function cspNamed(p, helperPort) {
	await p.click('#connect');
	await p.waitFor('#connect-status[data-reason="BLOCKED_BY_CSP"]', { timeout: 20000 });
	const text = await p.text('#connect-status');
	assert.match(text, /not set up to reach cardbridge/);
	assert.match(text, new RegExp(`connect-src\\) must allow ws://127\\.0\\.0\\.1:${helperPort}`));
	await p.screenshot(`${p.browser}-csp-blocked`);
}

/**
 * While a PIN dialog is open: the stage in words, a running clock, what
 * Cancel does; Cancel ends it at the helper and says what it left.
 */
export async function waitingWithCancel(p, { script }) {
	fs.writeFileSync(script, 'hang\n');
	await startKeygen(p, 'EC-P-256');
	await p.waitFor('#generate-status[data-stage] #cancel-request');
	const box = '#generate-status';
	assert.match(await p.text(box), /Enter your PIN in the cardbridge window/);
	assert.match(await p.text(box), /cannot be interrupted: cardbridge removes it as soon as the card has made it/);
	const clock = async () => (await p.content(`${box} .clock`)).trim();
	const first = await clock();
	assert.match(first, /^0:0\d$/);
	await H.waitFor(async () => (await clock()) !== first, { timeout: 5000, what: 'the clock to run' });
	await p.screenshot(`${p.browser}-waiting-for-pin`);
	await p.click('#cancel-request');
	await p.waitFor(`${box}[data-reason="ABORTED"]`);
	// The helper reported waitingForPin (or nothing yet): no key was made.
	assert.match(await p.text(box), /Cancelled[\s\S]*(Nothing was changed on your card|otherwise nothing was changed)/);
	await H.waitFor(() => p.evaluate(() => document.querySelector('#helper-pill').dataset.state === 'connected'),
		{ what: 'the page to reconnect after the cancel' });
}

/**
 * A key pair with a PIN, recording the stages the page showed.  Returns the
 * stages (data-stage values other than "sent"): none until cardbridged
 * sends progress notifications.
 */
export async function progressStages(p, { script }) {
	fs.writeFileSync(script, `pin ${H.PIN}\n`);
	await p.evaluate(() => {
		window.__stages = [];
		new MutationObserver(() => {
			const box = document.querySelector('#generate-status');
			if (box.dataset.stage && box.dataset.stage !== 'sent')
				window.__stages.push({ stage: box.dataset.stage, title: box.querySelector('.title')?.textContent });
		}).observe(document.querySelector('#generate-status'), { attributes: true, attributeFilter: ['data-stage'] });
	});
	await startKeygen(p, 'RSA-2048');
	await p.waitFor('#generate-result:not([hidden])', { timeout: 120000 });
	const stages = await p.evaluate(() => window.__stages);
	// Shown as they came: in the protocol's order (a stage may show twice in a row).
	const order = stages.map((s) => PROGRESS_STAGES.indexOf(s.stage));
	assert.ok(order.length > 0, 'the page showed no progress stage');
	assert.ok(order.every((i, k) => i >= 0 && (k === 0 || i >= order[k - 1])), JSON.stringify(stages));
	return stages;
}

/** Wrong PINs: the badge follows the token's flags (SoftHSM2 raises count-low at the first). */
export async function pinBadgeFollowsFlags(p, { script }) {
	fs.writeFileSync(script, 'pin 000000\npin 000000\npin 000000\n');
	await startKeygen(p, 'EC-P-256');
	await p.waitFor('#generate-status[data-reason="PIN_INCORRECT"]', { timeout: 60000 });
	await H.waitFor(async () => /few tries left/.test(await p.text('#card-state-pin')),
		{ what: 'the PIN badge to say "few tries left"' });
	await p.screenshot(`${p.browser}-pin-count-low`);
}

/**
 * The demo at 360, 700 and 1280 px: nothing wider than the window, the
 * DEMO badge on one line, and the step itself near the top.
 */
export async function layout(p, name) {
	for (const width of [360, 700, 1280]) {
		await p.size(width, 860);
		await p.screenshot(`${p.browser}-layout-${width}-${name}`);
		const m = await p.evaluate(() => {
			const badge = document.querySelector('.demo-banner strong').getBoundingClientRect();
			return {
				scrollWidth: document.documentElement.scrollWidth,
				innerWidth: window.innerWidth,
				badgeHeight: badge.height,
				panelTop: document.querySelector('#panel').getBoundingClientRect().top + window.scrollY,
			};
		});
		assert.ok(m.scrollWidth <= m.innerWidth, `${width} px: nothing overflows (${m.scrollWidth} > ${m.innerWidth})`);
		assert.ok(m.badgeHeight < 30, `${width} px: the DEMO badge stays on one line (${m.badgeHeight} px)`);
		assert.ok(m.panelTop < (width >= 980 ? 200 : 330), `${width} px: the step starts near the top (${m.panelTop} px)`);
	}
	await p.size(1280, 860);
}
