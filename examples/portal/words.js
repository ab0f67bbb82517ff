// Demo Trust Center: what the page says to the user, in one place.
//
// Every text here must be true of what the user's browser and cardbridge
// really do (doc/BROWSERS.md, doc/PROTOCOL.md): the browser's own
// questions are quoted in that browser's words, and what a cancel leaves
// on the card is what the helper does today.  No reason code, key ID or
// URL a user cannot act on is shown here; the details view has those.
import { CardbridgeError } from './lib/cardbridge.js';

const site = () => location.host;

/** The questions each browser asks, in its own words. */
export function browserWords(engine) {
	if (engine === 'gecko')
		return {
			name: 'Firefox',
			connect: null,	// Firefox asks nothing for the connection itself
			launch: '"Allow this site to open the cardbridge link with cardbridge?" — choose Open Link',
			unblock: [
				'Click the permissions icon at the left of the address bar.',
				'Allow "Access other apps and services on this device" for this site.',
				'Come back to this page and click Try again.',
			],
		};
	if (engine === 'chromium')
		return {
			name: 'your browser',
			connect: `"${location.hostname} wants to — Access other apps and services on this device" — choose Allow`,
			launch: '"Open cardbridge?" — choose Open',
			unblock: [
				'Click the site icon at the left of the address bar.',
				'Set "Apps on this device" (local network access) to Allow.',
				'Come back to this page and click Try again.',
			],
		};
	return {
		name: 'your browser',
		connect: 'whether this site may access apps and services on this device — choose Allow',
		launch: 'whether to open cardbridge — choose Open',
		unblock: ['Allow this site to access apps and services on this device in the site settings, then click Try again.'],
	};
}

const PIN_NAMES = { user: 'PIN', admin: 'admin PIN', puk: 'PUK' };

/** A request's stage in words: {title, text}.  stage null: nothing reported yet. */
export function stageWords(method, progress, tokenLabel) {
	const pin = PIN_NAMES[progress?.pin] ?? 'PIN';
	const card = tokenLabel ? `"${tokenLabel}"` : 'your card';
	switch (progress?.stage) {
	case 'waitingForDialog':
		return { title: 'Waiting for another cardbridge window', text: 'Another cardbridge window is open. Finish or close it, and this one follows.' };
	case 'waitingForPin':
		return { title: `Enter your ${pin} in the cardbridge window`, text: `cardbridge asks for the ${pin} of ${card}.` };
	case 'waitingForPinPad':
		return { title: `Enter your ${pin} on the card reader's keypad`, text: 'The reader waits for it; nothing is typed on the computer.' };
	case 'pinAccepted':
		return { title: `${pin} accepted`, text: 'Your card goes on by itself.' };
	case 'generatingKey':
		return { title: 'Generating the key on the card…', text: 'This may take several minutes on a card. Keep it in the reader.' };
	case 'signingRequest':
		return { title: 'Your card is signing the certificate request…', text: 'Keep the card in the reader.' };
	case 'writingCertificate':
		return { title: 'Writing the certificate onto the card…', text: 'Keep the card in the reader.' };
	default:
		return method === 'keys.generate'
			? { title: 'Enter your PIN in the cardbridge window', text: `cardbridge asks for the PIN of ${card}. Then your card creates the key pair: on a smart card this may take several minutes.` }
			: { title: 'Enter your PIN in the cardbridge window', text: `cardbridge asks for the PIN of ${card} to store the certificate.` };
	}
}

/**
 * What Cancel does, before it is clicked: the helper is told at once (a PIN
 * window closes); a key generation the card has started runs to its end,
 * and the helper then removes the new key pair, whose CSR nobody can receive
 * (a card that cannot delete keys keeps it).
 */
export const CANCEL_HINT = 'Cancel tells cardbridge to stop: its PIN window closes at once. A key your card is ' +
	'already generating cannot be interrupted: cardbridge removes it as soon as the card has made it.';

const KEPT_IF_UNDELETABLE = ' (A card that cannot delete keys, such as an OpenPGP card, keeps it, unused.)';

/** What a cancel left, from the last stage the helper reported. */
export function cancelOutcome(method, lastStage) {
	if (method !== 'keys.generate')
		return 'Nothing was written to your card.';
	const order = ['waitingForDialog', 'waitingForPin', 'waitingForPinPad', 'pinAccepted', 'generatingKey'];
	const at = order.indexOf(lastStage);
	if (at >= 0 && at < order.indexOf('pinAccepted'))
		return 'Nothing was changed on your card.';
	if (lastStage === undefined || lastStage === null)
		return 'If your card had already started to generate the key, cardbridge removes the new key pair once it is made; otherwise nothing was changed.' + KEPT_IF_UNDELETABLE;
	return 'Your card was already generating the key: cardbridge removes the new key pair once the card has made it.' + KEPT_IF_UNDELETABLE;
}

/** The PIN's state from what the token reports (PKCS#11 flags), for a badge. */
export function pinBadge(flags = {}) {
	if (flags.pinLocked)
		return { cls: 'err', text: 'PIN blocked', usable: false,
			title: 'The PIN is blocked. Unblock it with the card\'s PUK or admin PIN.' };
	if (flags.writeProtected)
		return { cls: 'err', text: 'Write-protected', usable: false, title: 'This card cannot store new keys.' };
	if (flags.pinFinalTry)
		return { cls: 'err', text: 'PIN: last try', usable: true,
			title: 'One more wrong PIN blocks it.' };
	if (flags.pinCountLow)
		return { cls: 'warn', text: 'PIN: few tries left', usable: true,
			title: 'The card reports that a wrong PIN was typed since it was last unlocked; some cards (SoftHSM2) report this after one wrong PIN.' };
	return { cls: 'ok', text: 'PIN not blocked', usable: true, title: 'The card reports no wrong PIN since it was last unlocked.' };
}

/** A connection or card error in the user's words: a status callout. */
export function explain(err, engine) {
	const reason = err instanceof CardbridgeError ? err.reason : 'UNKNOWN';
	const tries = err?.retriesLeft;
	const b = browserWords(engine);
	switch (reason) {
	case 'LOCAL_NETWORK_ACCESS_DENIED':
		return {
			kind: 'warning', reason,
			title: 'Allow this site to access your card helper',
			text: `Your browser blocked ${site()} from reaching cardbridge on this computer. To let it through:`,
			list: b.unblock,
		};
	case 'BLOCKED_BY_CSP':
		return {
			kind: 'error', reason,
			title: 'This page is not set up to reach cardbridge',
			text: 'The site\'s own security policy stops this page from talking to cardbridge. Please tell the ' +
				`site's administrators: its Content-Security-Policy (connect-src) must allow ${err.details?.blockedUrl?.replace(/\/$/, '') ?? 'cardbridge'}.`,
		};
	case 'NOT_RUNNING':
		if (err.details?.launched)
			return {
				kind: 'warning', reason,
				title: 'cardbridge did not start',
				text: 'We asked your computer to start cardbridge, but it did not answer. It may not be installed, ' +
					`or ${b.name === 'Firefox' ? 'Firefox\'s' : 'the browser\'s'} question ${b.launch.replace(/ — .*/, '')} was cancelled. ` +
					(err.details?.helperAnswersHttp === null
						? 'If cardbridge is installed and running, it may not accept this website: ask your IT department. '
						: 'Install cardbridge (or ask your IT department), then try again.'),
			};
		return {
			kind: 'warning', reason,
			title: 'cardbridge is not running',
			text: 'We could not reach cardbridge on this computer. Start it with the button below (or install it first if you have not)' +
				(err.details?.helperAnswersHttp === null ? '; if it is running, it may not accept this website.' : '.'),
		};
	case 'ORIGIN_NOT_ALLOWED':
		return {
			kind: 'error', reason,
			title: 'cardbridge does not accept this website',
			text: `cardbridge on this computer is not set up to work with ${location.origin}. Ask your IT ` +
				'department to add this site to cardbridge\'s allowed sites.',
		};
	case 'ABORTED':
		return { kind: 'warning', reason, title: 'Cancelled', text: err.message };
	case 'USER_CANCELLED':
		return { kind: 'warning', reason, title: 'PIN entry cancelled', text: 'Nothing was changed on your card. Try again when you are ready.' };
	case 'PIN_INCORRECT':
		return {
			kind: 'error', reason, title: 'Wrong PIN',
			text: Number.isInteger(tries)
				? `The PIN you typed is not correct. ${tries === 1 ? 'Only 1 attempt is' : `${tries} attempts are`} left before your PIN is blocked.`
				: 'The PIN you typed is not correct. Be careful: your PIN is blocked after a few wrong attempts.',
		};
	case 'PIN_LOCKED':
		return { kind: 'error', reason, title: 'Your PIN is blocked', text: 'Unblock it with your PUK code (or ask your card issuer), then try again.' };
	case 'PIN_INVALID':
		return { kind: 'error', reason, title: 'This PIN cannot be right', text: 'It has the wrong length or characters for your card. Try again.' };
	case 'TOKEN_NOT_PRESENT':
	case 'CARD_REMOVED':
		if (err?.maybeStored)
			return { kind: 'warning', reason, title: 'Your card was removed while the certificate was written', text: 'It may be on the card already. Insert the card and try again: a certificate already stored is not written twice.' };
		return { kind: 'error', reason, title: 'Your card is not in the reader', text: 'Insert your card and try again. Keep it in the reader until this step is finished.' };
	case 'SERVICE_STOPPED':
		return { kind: 'error', reason, title: 'The smart-card service stopped', text: 'Your card was not removed. Wait a moment for the service to start again, then retry.' };
	case 'KEY_NOT_FOUND':
		return { kind: 'error', reason, title: 'The key for this certificate is not on the card', text: 'Insert the card on which you generated the key pair and try again, or start again.' };
	case 'SLOT_OCCUPIED':
		return { kind: 'warning', reason, title: 'Your card already holds a key here', text: 'Replacing it would delete the existing key. Contact support if you want to replace it.' };
	case 'UNSUPPORTED_ALGORITHM':
		return { kind: 'error', reason, title: 'Your card cannot create this kind of key', text: 'Choose another key type and try again.' };
	case 'TOKEN_WRITE_PROTECTED':
		return { kind: 'error', reason, title: 'Your card is write-protected', text: 'Nothing can be stored on it. Use another card.' };
	case 'BUSY':
		return { kind: 'warning', reason, title: 'cardbridge is busy', text: 'Another cardbridge window (such as a PIN dialog) is open. Finish it, then try again.' };
	case 'TIMEOUT':
	case 'REQUEST_TIMEOUT':
		return { kind: 'warning', reason, title: 'No answer in time', text: 'The PIN window may have been open too long, or the card did not answer. Try again.' };
	case 'CONNECTION_LOST':
	case 'CLOSED':
		return { kind: 'error', reason, title: 'The connection to cardbridge was lost', text: 'Nothing is repeated by itself: when cardbridge is back (this page reconnects by itself), try again.' };
	case 'MODULE_ERROR':
		return { kind: 'error', reason, title: 'Your card reader reported a problem', text: 'Remove the card, insert it again and retry.' };
	case 'INVALID_PARAMS':
		return { kind: 'error', reason, title: 'The card helper refused the request', text: capitalise(err.message) + '.' };
	default:
		return { kind: 'error', reason, title: 'Something went wrong', text: err?.message ? capitalise(err.message) + '.' : 'Please try again.' };
	}
}

export function capitalise(s) {
	s = String(s || '');
	return s.charAt(0).toUpperCase() + s.slice(1);
}
