// The demo portal's "My card" page (examples/portal/card.html) end to end in
// headless Chromium: card management (issue 13) from a page, on a SoftHSM2
// token and on the virtual IsoApplet card (tests/vcard, through OpenSC).
// PINs, PUKs and confirmations are typed by tests/fake-pinentry; pkcs11-tool
// checks the token independently after each operation.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import * as H from './harness.mjs';
import * as V from './vcard.mjs';

// A hook that hangs (a browser that never answers) must fail the tier, not stall it.
const HOOK_TIMEOUT = 180000;

const why = H.missing({ browser: true });
const skip = why ? { skip: why, timeout: 240000 } : { timeout: 240000 };
const LABEL = 'cardbridge demo';
const ISO = 'cardbridge test (User PIN)';

let chromium, browser, dir, tls, script, portalPort, origin;

before(async () => {
	if (why)
		return;
	chromium = await H.chromium();
	dir = H.tmpdir('cb-card-');
	script = H.pinScript(dir, []);
	tls = H.makeTlsCert(dir, ['portal.example']);
	portalPort = await H.freePort();
	origin = `https://portal.example:${portalPort}`;
	browser = await chromium.launch({
		executablePath: H.CHROMIUM,
		args: H.chromiumArgs({ hosts: ['portal.example'], publicPorts: [portalPort] }),
	});
}, { timeout: HOOK_TIMEOUT });

after(async () => {
	await browser?.close();
	if (dir)
		fs.rmSync(dir, { recursive: true, force: true });
}, { timeout: HOOK_TIMEOUT });

/** A daemon and the portal for one token; the page open, connected, the token shown. */
async function myCard({ env, modules, label }) {
	const daemon = await H.startDaemon({ origins: [origin], modules, env: { ...env, CB_PINENTRY_SCRIPT: script } });
	const portal = await H.startPortal({ helperPort: daemon.port, tls, port: portalPort });
	const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1100, height: 900 } });
	await ctx.grantPermissions(['local-network-access'], { origin });
	const page = await ctx.newPage();
	const errors = [];
	page.on('pageerror', (e) => errors.push(String(e)));
	await page.goto(origin + '/card.html');
	await page.waitForSelector('body[data-ready="true"]');
	await page.click('#connect');
	await page.waitForSelector(`article[data-label="${label}"]`);
	return {
		daemon, portal, page, errors, token: page.locator(`article[data-label="${label}"]`),
		async stop() {
			await ctx.close();
			await portal.stop();
			await daemon.stop();
		},
	};
}

/** Click a button with these dialog answers; resolves to the status callout's reason. */
async function operate(page, locator, answers) {
	fs.writeFileSync(script, answers.map((a) => a + '\n').join(''));
	const before_ = Number(await page.evaluate(() => document.body.dataset.refreshed || 0));
	await locator.click();
	await page.waitForFunction((n) => Number(document.body.dataset.refreshed) > n && !document.body.dataset.busy,
		before_, { timeout: 120000 });
	return page.getAttribute('#status', 'data-reason');
}

test('My card on SoftHSM2: PIN state, a changed PIN, a cancelled unblock, a deleted key', skip, async () => {
	const hsm = H.makeSoftHSM([LABEL]);
	hsm.tool(LABEL, '--login', '--pin', H.PIN, '--keypairgen', '--key-type', 'EC:prime256v1', '--id', '77', '--label', 'old key');
	const s = await myCard({ env: hsm.env, modules: [H.SOFTHSM_MODULE], label: LABEL });
	try {
		const { page, token } = s;
		assert.equal(await token.locator('[data-pin="user"]').getAttribute('data-state'), 'ok');
		assert.match(await token.locator('[data-pin="user"]').innerText(), /PIN: OK/);
		assert.equal(await token.locator('[data-op="init-pin"]').isDisabled(), true);
		assert.equal(await token.locator('[data-op="init-pin"]').getAttribute('title'), 'the user PIN is set already');
		assert.match(await token.locator('tr[data-key-id="77"]').innerText(), /old key[\s\S]*EC P-256/);
		await H.screenshot(page, 'card-1-softhsm');
		const objects = hsm.objects(LABEL);

		assert.equal(await operate(page, token.locator('[data-op="change-pin"]'),
			[`pin ${H.PIN}`, 'pin 24682468', 'pin 24682468']), 'OK');
		assert.equal(hsm.tool(LABEL, '--login', '--pin', '24682468', '-O').length > 0, true);
		assert.equal(H.run('pkcs11-tool', ['--module', H.SOFTHSM_MODULE, '--token-label', LABEL, '--login',
			'--pin', H.PIN, '-O'], { env: hsm.env, allowFail: true }).status !== 0, true, 'the old PIN no longer opens it');

		assert.equal(await operate(page, token.locator('[data-op="unblock"]'), ['cancel']), 'USER_CANCELLED');
		assert.equal(hsm.tool(LABEL, '--login', '--pin', '24682468', '-O').length > 0, true, 'nothing changed');

		assert.equal(await operate(page, token.locator('tr[data-key-id="77"] [data-op="delete-key"]'),
			['confirm', 'pin 24682468']), 'OK');
		assert.equal(await token.locator('tr[data-key-id="77"]').count(), 0);
		const left = H.parseObjects(hsm.tool(LABEL, '-O', '--login', '--pin', '24682468'));
		assert.deepEqual(left.map((o) => o.kind + o.id).sort(),
			objects.filter((o) => o.id !== '77').map((o) => o.kind + o.id).sort());
		assert.deepEqual(s.errors, []);
	} finally {
		await s.stop();
		hsm.cleanup();
	}
});

test('My card on the virtual IsoApplet card: a locked PIN is unblocked with the PUK, then the portal makes a key', skip, async (t) => {
	const card = await V.startCard('isoapplet', { lock: true });
	if (card.missing) {
		await card.stop();
		t.skip(card.missing);
		return;
	}
	const s = await myCard({ env: card.env, modules: [V.OPENSC_MODULE], label: ISO });
	try {
		const { page, token } = s;
		const unblock = token.locator('[data-op="unblock"]');
		assert.match(await unblock.innerText(), /Unblock PIN with the PUK/);
		assert.equal(await token.locator('[data-op="change-so-pin"]').isDisabled(), true);
		assert.match(card.tool('--login', '--pin', V.USER_PIN, '-O').stdout + card.tool('--login', '--pin', V.USER_PIN, '-O').stderr,
			/CKR_PIN_INCORRECT/, 'the PIN is locked');
		assert.equal(await operate(page, unblock, [`pin ${V.PUK}`, 'pin 4321', 'pin 4321']), 'OK');
		await H.screenshot(page, 'card-2-isoapplet-unblocked');
		assert.equal(card.tool('--login', '--pin', '4321', '-O').status, 0, 'the new PIN opens the card');

		// The wizard, on the same card with the new PIN.
		fs.writeFileSync(script, 'pin 4321\n');
		await page.goto(origin + '/');
		await page.waitForSelector('body[data-ready="true"]');
		await page.click('#connect');
		await page.waitForSelector('#step-token:not([hidden])');
		await page.locator(`.token[data-label="${ISO}"]`).click();
		await page.click('#token-continue');
		await page.waitForSelector('#step-generate:not([hidden])');
		await page.click('#generate');
		await page.waitForSelector('#generate-result:not([hidden]), #generate-status[data-kind="error"]', { timeout: 180000 });
		const failed = await page.locator('#generate-status[data-kind="error"]').count();
		assert.equal(failed, 0, await page.innerText('#generate-status'));
		// The key ID is under "Technical details", closed: read it, not what shows.
		assert.match((await page.textContent('#key-id')).trim(), /^[0-9a-f]+$/);
	} finally {
		await s.stop();
		await card.stop();
	}
});
