// The shipped Chromium policy (examples/policies/chromium/cardbridge.json) in
// Debian's Chromium: a portal on a public https origin reaches cardbridge on
// loopback and opens cardbridge://start with no prompt and no permission
// granted by the test, only because of the managed policy.
//
// The policy, with the example's origin replaced by the test portal's, goes
// to /etc/chromium/policies/managed/ (CB_CHROMIUM_POLICY_DIR) for the
// length of one test and is removed after it, also when the test fails or
// is interrupted; directories created for it are removed too.  It names
// only policy-portal.example on this test's port, so a Chromium that other
// tests start meanwhile behaves as before.  Needs root (the runner,
// tests/test-browser-policy.sh, skips otherwise).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as H from './harness.mjs';

// A hook that hangs (a browser that never answers) must fail the tier, not stall it.
const HOOK_TIMEOUT = 180000;

const POLICY_DIR = process.env.CB_CHROMIUM_POLICY_DIR || '/etc/chromium/policies/managed';
const EXAMPLE = path.join(H.SRCDIR, 'examples', 'policies', 'chromium', 'cardbridge.json');
const CLI = path.join(H.BUILDDIR, 'cli', 'cardbridge');
const HOST = 'policy-portal.example';
const LABEL = 'cardbridge policy';
const why = H.missing({ browser: true }) ??
	(process.getuid() !== 0 ? `needs root to write ${POLICY_DIR}` : null);
const opts = why ? { skip: why, timeout: 180000 } : { timeout: 180000 };

let chromium, work, hsm, script, tls, portal, origin, helperPort, bin, record;
const policyFile = path.join(POLICY_DIR, `cardbridge-test-${process.pid}.json`);
const createdDirs = [];

/** Write the policy (and its directories); undone by removePolicy(). */
function installPolicy(text) {
	let dir = POLICY_DIR;
	const missing = [];
	while (!fs.existsSync(dir)) {
		missing.unshift(dir);
		dir = path.dirname(dir);
	}
	for (const d of missing) {
		fs.mkdirSync(d, { mode: 0o755 });
		createdDirs.unshift(d);
	}
	fs.writeFileSync(policyFile, text, { mode: 0o644 });
}

function removePolicy() {
	fs.rmSync(policyFile, { force: true });
	while (createdDirs.length) {
		try {
			fs.rmdirSync(createdDirs[0]);	// only if empty: never anyone else's file
		} catch {
			break;
		}
		createdDirs.shift();
	}
}
process.on('exit', removePolicy);
for (const sig of ['SIGINT', 'SIGTERM'])
	process.on(sig, () => process.exit(1));

/** The shipped example for our origin, and what `cardbridge browser-policy` prints for it. */
function policyFor(o) {
	const text = fs.readFileSync(EXAMPLE, 'utf8').replaceAll('"https://portal.example"', JSON.stringify(o));
	const printed = H.run(CLI, ['browser-policy', '--origin', o]).stdout;
	assert.deepEqual(JSON.parse(text), JSON.parse(printed), 'the example is what browser-policy prints');
	return text;
}

before(async () => {
	if (why)
		return;
	chromium = await H.chromium();
	work = H.tmpdir('cb-policy-');
	hsm = H.makeSoftHSM([LABEL]);
	script = H.pinScript(work, []);
	tls = H.makeTlsCert(work, [HOST]);
	helperPort = await H.freePort();
	const port = await H.freePort();
	origin = `https://${HOST}:${port}`;
	portal = await H.startPortal({ helperPort, tls, port });
	// xdg-open as Chromium finds it on PATH: it only records the link; the
	// test then starts cardbridged as the real handler would.
	bin = path.join(work, 'bin');
	record = path.join(work, 'xdg-open.args');
	fs.mkdirSync(bin);
	fs.writeFileSync(path.join(bin, 'xdg-open'), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${record}'\n`, { mode: 0o755 });
}, { timeout: HOOK_TIMEOUT });

after(async () => {
	removePolicy();
	await portal?.stop();
	hsm?.cleanup();
	if (work)
		fs.rmSync(work, { recursive: true, force: true });
}, { timeout: HOOK_TIMEOUT });

/** A fresh profile (no site permission, no allowed link pair) and the portal page in it. */
async function openPortal(name) {
	const ctx = await chromium.launchPersistentContext(path.join(work, name), {
		executablePath: H.CHROMIUM,
		args: H.chromiumArgs({ hosts: [HOST], publicPorts: [new URL(origin).port] }),
		env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
		ignoreHTTPSErrors: true,
		viewport: { width: 1280, height: 860 },
	});
	const page = ctx.pages()[0] ?? await ctx.newPage();
	const errors = [];
	page.on('pageerror', (e) => errors.push(String(e)));
	await page.goto(origin + '/');
	await page.waitForSelector('body[data-ready="true"]');
	return { ctx, page, errors };
}

const permission = (page) => page.evaluate(async () => (await navigator.permissions.query({ name: 'loopback-network' })).state);

test('without the policy the public portal is blocked from loopback', opts, async () => {
	const daemon = await H.startDaemon({ port: helperPort, origins: [origin], env: hsm.env });
	const { ctx, page, errors } = await openPortal('profile-without');
	try {
		assert.notEqual(await permission(page), 'granted');
		await page.click('#connect');
		await page.locator('#connect-status[data-reason="LOCAL_NETWORK_ACCESS_DENIED"]').waitFor();
		assert.deepEqual(errors, []);
	} finally {
		await ctx.close();
		await daemon.stop();
	}
});

test('with the shipped policy the click launches cardbridge and the portal connects, no prompt', opts, async () => {
	installPolicy(policyFor(origin));
	let daemon;
	const { ctx, page, errors } = await openPortal('profile-with');
	try {
		assert.equal(await permission(page), 'granted', 'the policy grants loopback access');
		assert.equal(fs.existsSync(record), false, 'nothing launched before the click');
		await page.click('#connect');
		// Headless Chromium drops the "Open cardbridge?" dialog: only the
		// policy can let the link through to xdg-open.
		await H.waitFor(() => fs.existsSync(record), { timeout: 15000, what: 'xdg-open cardbridge://start' });
		assert.equal(fs.readFileSync(record, 'utf8').trim(), 'cardbridge://start');
		daemon = await H.startDaemon({ port: helperPort, origins: [origin],
			env: { ...hsm.env, CB_PINENTRY_SCRIPT: script } });
		await page.waitForSelector('#step-token:not([hidden])', { timeout: 30000 });
		await page.locator(`.token[data-label="${LABEL}"]`).waitFor();
		assert.match(daemon.readLog(), new RegExp(`connected from ${origin.replaceAll('.', '\\.')}`));
		await H.screenshot(page, 'policy-connected');
		assert.deepEqual(errors, []);
	} finally {
		await ctx.close();
		removePolicy();
		await daemon?.stop();
	}
});
