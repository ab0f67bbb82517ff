/*
 * p11-probe.c - cardbridge-p11-probe, a small PKCS#11 client for the card
 * tiers: it prints, in a form a shell test can grep, what a module reports
 * about the token in the first slot that has one and what each call
 * returns (CKR names), where pkcs11-tool hides it or does not go:
 *
 *   cardbridge-p11-probe MODULE token
 *       label, serial, token flags by name, ulMinPinLen / ulMaxPinLen
 *   cardbridge-p11-probe MODULE attrs ID [PIN]
 *       the private key with CKA_ID = ID (hex): CKA_SENSITIVE & co. as
 *       TRUE/FALSE, and for the key material the CKR (or only its length)
 *   cardbridge-p11-probe MODULE login USER|SO|CONTEXT PIN [PIN...]
 *       one C_Login per PIN in the same process, each followed by the
 *       token flags, which OpenSC updates from what the login learnt
 *   cardbridge-p11-probe MODULE setpin OLD NEW [USER|SO|CONTEXT LOGIN-PIN]
 *       C_SetPIN in a read-write session, logged in first or not
 *   cardbridge-p11-probe MODULE initpin NEW [SO-PIN]
 *       C_InitPIN, after C_Login(CKU_SO) when an SO PIN is given
 *
 * Exit status 0 when every call it made returned CKR_OK, 1 otherwise, 2 on
 * usage errors. Test equipment: PINs come from the command line of a test
 * and are never printed; key material is never printed, only its length.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <p11-kit/pkcs11.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct probe_name {
	unsigned long value;
	const char *name;
};

#define NAME(x)                                                                                    \
	{                                                                                          \
		x, #x                                                                              \
	}

static const struct probe_name probe_rvs[] = {
    NAME(CKR_OK),
    NAME(CKR_GENERAL_ERROR),
    NAME(CKR_FUNCTION_FAILED),
    NAME(CKR_ARGUMENTS_BAD),
    NAME(CKR_DATA_INVALID),
    NAME(CKR_DATA_LEN_RANGE),
    NAME(CKR_TEMPLATE_INCOMPLETE),
    NAME(CKR_ATTRIBUTE_SENSITIVE),
    NAME(CKR_ATTRIBUTE_TYPE_INVALID),
    NAME(CKR_DEVICE_ERROR),
    NAME(CKR_DEVICE_REMOVED),
    NAME(CKR_FUNCTION_NOT_SUPPORTED),
    NAME(CKR_KEY_HANDLE_INVALID),
    NAME(CKR_MECHANISM_INVALID),
    NAME(CKR_OBJECT_HANDLE_INVALID),
    NAME(CKR_OPERATION_NOT_INITIALIZED),
    NAME(CKR_PIN_INCORRECT),
    NAME(CKR_PIN_INVALID),
    NAME(CKR_PIN_LEN_RANGE),
    NAME(CKR_PIN_EXPIRED),
    NAME(CKR_PIN_LOCKED),
    NAME(CKR_SESSION_HANDLE_INVALID),
    NAME(CKR_SESSION_READ_ONLY),
    NAME(CKR_TOKEN_NOT_PRESENT),
    NAME(CKR_TOKEN_NOT_RECOGNIZED),
    NAME(CKR_TOKEN_WRITE_PROTECTED),
    NAME(CKR_USER_ALREADY_LOGGED_IN),
    NAME(CKR_USER_NOT_LOGGED_IN),
    NAME(CKR_USER_PIN_NOT_INITIALIZED),
    NAME(CKR_USER_TYPE_INVALID),
    NAME(CKR_USER_ANOTHER_ALREADY_LOGGED_IN),
    NAME(CKR_BUFFER_TOO_SMALL),
    NAME(CKR_CRYPTOKI_NOT_INITIALIZED),
    NAME(CKR_FUNCTION_REJECTED),
};

static const struct probe_name probe_token_flags[] = {
    NAME(CKF_RNG),
    NAME(CKF_WRITE_PROTECTED),
    NAME(CKF_LOGIN_REQUIRED),
    NAME(CKF_USER_PIN_INITIALIZED),
    NAME(CKF_RESTORE_KEY_NOT_NEEDED),
    NAME(CKF_CLOCK_ON_TOKEN),
    NAME(CKF_PROTECTED_AUTHENTICATION_PATH),
    NAME(CKF_DUAL_CRYPTO_OPERATIONS),
    NAME(CKF_TOKEN_INITIALIZED),
    NAME(CKF_SECONDARY_AUTHENTICATION),
    NAME(CKF_USER_PIN_COUNT_LOW),
    NAME(CKF_USER_PIN_FINAL_TRY),
    NAME(CKF_USER_PIN_LOCKED),
    NAME(CKF_USER_PIN_TO_BE_CHANGED),
    NAME(CKF_SO_PIN_COUNT_LOW),
    NAME(CKF_SO_PIN_FINAL_TRY),
    NAME(CKF_SO_PIN_LOCKED),
    NAME(CKF_SO_PIN_TO_BE_CHANGED),
};

static const struct probe_name probe_bool_attrs[] = {
    NAME(CKA_TOKEN),
    NAME(CKA_PRIVATE),
    NAME(CKA_SENSITIVE),
    NAME(CKA_ALWAYS_SENSITIVE),
    NAME(CKA_EXTRACTABLE),
    NAME(CKA_NEVER_EXTRACTABLE),
    NAME(CKA_LOCAL),
    NAME(CKA_SIGN),
    NAME(CKA_DECRYPT),
    NAME(CKA_DERIVE),
    NAME(CKA_ALWAYS_AUTHENTICATE),
    NAME(CKA_MODIFIABLE),
};

static const struct probe_name probe_secret_attrs[] = {
    NAME(CKA_PRIVATE_EXPONENT),
    NAME(CKA_PRIME_1),
    NAME(CKA_PRIME_2),
    NAME(CKA_EXPONENT_1),
    NAME(CKA_EXPONENT_2),
    NAME(CKA_COEFFICIENT),
    NAME(CKA_VALUE),
};

static const struct probe_name probe_users[] = {
    {CKU_USER, "USER"}, {CKU_SO, "SO"}, {CKU_CONTEXT_SPECIFIC, "CONTEXT"}};

static CK_FUNCTION_LIST_PTR p11;
static int probe_failed;

static const char *
probe_rv_name(CK_RV rv)
{
	static char unknown[32];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(probe_rvs); i++)
		if (probe_rvs[i].value == rv)
			return probe_rvs[i].name;
	snprintf(unknown, sizeof(unknown), "CKR_0x%lx", (unsigned long)rv);
	return unknown;
}

/* Print "what = CKR_NAME (0xNN)" and remember a failure. */
static CK_RV
probe_report(const char *what, CK_RV rv)
{
	printf("%s = %s (0x%lx)\n", what, probe_rv_name(rv), (unsigned long)rv);
	if (rv != CKR_OK)
		probe_failed = 1;
	return rv;
}

static int
probe_user_type(const char *name, CK_USER_TYPE *out)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(probe_users); i++)
		if (strcmp(probe_users[i].name, name) == 0) {
			*out = probe_users[i].value;
			return 0;
		}
	fprintf(stderr, "cardbridge-p11-probe: user type must be USER, SO or CONTEXT\n");
	return -1;
}

static CK_RV
probe_login(CK_SESSION_HANDLE session, const char *type, const char *pin)
{
	char what[64];
	CK_USER_TYPE user;

	if (probe_user_type(type, &user) != 0)
		exit(2);
	snprintf(what, sizeof(what), "C_Login(CKU_%s)", type);
	return probe_report(
	    what, p11->C_Login(session, user, (CK_UTF8CHAR_PTR)pin, (CK_ULONG)strlen(pin)));
}

static void
probe_print_padded(const char *name, const CK_UTF8CHAR *text, size_t len)
{
	while (len > 0 && text[len - 1] == ' ')
		len--;
	printf("%s = %.*s\n", name, (int)len, (const char *)text);
}

static void
probe_print_flags(const CK_TOKEN_INFO *info)
{
	size_t i;

	printf("flags = 0x%lx", (unsigned long)info->flags);
	for (i = 0; i < ARRAY_SIZE(probe_token_flags); i++)
		if (info->flags & probe_token_flags[i].value)
			printf(" %s", probe_token_flags[i].name);
	printf("\n");
}

static int
probe_token(CK_SLOT_ID slot)
{
	CK_TOKEN_INFO info;

	if (probe_report("C_GetTokenInfo", p11->C_GetTokenInfo(slot, &info)) != CKR_OK)
		return 1;
	probe_print_padded("label", info.label, sizeof(info.label));
	probe_print_padded("serial", info.serialNumber, sizeof(info.serialNumber));
	probe_print_flags(&info);
	printf("ulMinPinLen = %lu\nulMaxPinLen = %lu\n", (unsigned long)info.ulMinPinLen,
	    (unsigned long)info.ulMaxPinLen);
	return 0;
}

/* Each login, then the token flags as OpenSC reports them now. */
static int
probe_logins(CK_SLOT_ID slot, CK_SESSION_HANDLE session, int argc, char **argv)
{
	CK_TOKEN_INFO info;
	int i;

	for (i = 1; i < argc; i++) {
		if (probe_login(session, argv[0], argv[i]) == CKR_OK)
			p11->C_Logout(session);
		if (p11->C_GetTokenInfo(slot, &info) == CKR_OK)
			probe_print_flags(&info);
	}
	return probe_failed;
}

static int
probe_hex(const char *hex, CK_BYTE *out, size_t cap, size_t *len)
{
	size_t n = strlen(hex), i;
	unsigned int byte;

	if (n == 0 || n % 2 != 0 || n / 2 > cap)
		return -1;
	for (i = 0; i < n / 2; i++) {
		if (sscanf(hex + 2 * i, "%2x", &byte) != 1)
			return -1;
		out[i] = (CK_BYTE)byte;
	}
	*len = n / 2;
	return 0;
}

static CK_OBJECT_HANDLE
probe_find_private_key(CK_SESSION_HANDLE session, const CK_BYTE *id, size_t id_len)
{
	CK_OBJECT_CLASS class = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE query[] = {
	    {CKA_CLASS, &class, sizeof(class)}, {CKA_ID, (void *)id, (CK_ULONG)id_len}};
	CK_OBJECT_HANDLE object = CK_INVALID_HANDLE;
	CK_ULONG n = 0;

	if (p11->C_FindObjectsInit(session, query, ARRAY_SIZE(query)) == CKR_OK) {
		if (p11->C_FindObjects(session, &object, 1, &n) != CKR_OK || n == 0)
			object = CK_INVALID_HANDLE;
		p11->C_FindObjectsFinal(session);
	}
	return object;
}

static void
probe_attrs_of(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE key)
{
	CK_ATTRIBUTE a;
	CK_BBOOL b;
	CK_RV rv;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(probe_bool_attrs); i++) {
		a = (CK_ATTRIBUTE){probe_bool_attrs[i].value, &b, sizeof(b)};
		rv = p11->C_GetAttributeValue(session, key, &a, 1);
		if (rv == CKR_OK)
			printf("%s = %s\n", probe_bool_attrs[i].name, b ? "TRUE" : "FALSE");
		else
			printf("%s = %s (0x%lx)\n", probe_bool_attrs[i].name, probe_rv_name(rv),
			    (unsigned long)rv);
	}
	/* Key material: only ask for the length, never fetch the value. */
	for (i = 0; i < ARRAY_SIZE(probe_secret_attrs); i++) {
		a = (CK_ATTRIBUTE){probe_secret_attrs[i].value, NULL, 0};
		rv = p11->C_GetAttributeValue(session, key, &a, 1);
		if (rv == CKR_OK && a.ulValueLen != CK_UNAVAILABLE_INFORMATION)
			printf("%s = CKR_OK, %lu bytes\n", probe_secret_attrs[i].name,
			    (unsigned long)a.ulValueLen);
		else
			printf("%s = %s (0x%lx)\n", probe_secret_attrs[i].name, probe_rv_name(rv),
			    (unsigned long)rv);
	}
}

static int
probe_attrs(CK_SESSION_HANDLE session, int argc, char **argv)
{
	CK_BYTE id[64];
	CK_OBJECT_HANDLE key;
	size_t id_len;

	if (argc < 1 || probe_hex(argv[0], id, sizeof(id), &id_len) != 0) {
		fprintf(stderr, "cardbridge-p11-probe: attrs needs a hex CKA_ID\n");
		return 2;
	}
	if (argc > 1 && probe_login(session, "USER", argv[1]) != CKR_OK)
		return 1;
	if ((key = probe_find_private_key(session, id, id_len)) == CK_INVALID_HANDLE) {
		printf("no private key with CKA_ID %s\n", argv[0]);
		return 1;
	}
	probe_attrs_of(session, key);
	return 0;
}

static int
probe_command(CK_SLOT_ID slot, CK_SESSION_HANDLE session, int argc, char **argv)
{
	const char *command = argv[0];

	argc--;
	argv++;
	if (strcmp(command, "token") == 0)
		return probe_token(slot);
	if (strcmp(command, "attrs") == 0)
		return probe_attrs(session, argc, argv);
	if (strcmp(command, "login") == 0 && argc >= 2)
		return probe_logins(slot, session, argc, argv);
	if (strcmp(command, "setpin") == 0 && (argc == 2 || argc == 4)) {
		if (argc == 4 && probe_login(session, argv[2], argv[3]) != CKR_OK)
			return 1;
		probe_report("C_SetPIN",
		    p11->C_SetPIN(session, (CK_UTF8CHAR_PTR)argv[0], (CK_ULONG)strlen(argv[0]),
			(CK_UTF8CHAR_PTR)argv[1], (CK_ULONG)strlen(argv[1])));
		return probe_failed;
	}
	if (strcmp(command, "initpin") == 0 && (argc == 1 || argc == 2)) {
		if (argc == 2 && probe_login(session, "SO", argv[1]) != CKR_OK)
			return 1;
		probe_report("C_InitPIN",
		    p11->C_InitPIN(session, (CK_UTF8CHAR_PTR)argv[0], (CK_ULONG)strlen(argv[0])));
		return probe_failed;
	}
	fprintf(stderr, "cardbridge-p11-probe: unknown command or arguments: %s\n", command);
	return 2;
}

int
main(int argc, char **argv)
{
	CK_RV (*get_list)(CK_FUNCTION_LIST_PTR_PTR);
	CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
	CK_SLOT_ID slots[8];
	CK_ULONG n_slots = ARRAY_SIZE(slots);
	void *module;
	int status = 1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 3) {
		fprintf(stderr, "usage: cardbridge-p11-probe MODULE token|attrs|login|setpin|"
				"initpin [ARGS]\n");
		return 2;
	}
	if ((module = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL)) == NULL ||
	    (get_list = (CK_RV(*)(CK_FUNCTION_LIST_PTR_PTR))dlsym(module, "C_GetFunctionList")) ==
		NULL ||
	    get_list(&p11) != CKR_OK) {
		fprintf(stderr, "cardbridge-p11-probe: cannot load %s\n", argv[1]);
		return 2;
	}
	if (probe_report("C_Initialize", p11->C_Initialize(NULL)) != CKR_OK)
		goto out;
	if (p11->C_GetSlotList(CK_TRUE, slots, &n_slots) != CKR_OK || n_slots == 0) {
		printf("no slot with a token\n");
		goto finalize;
	}
	if (probe_report(
		"C_OpenSession", p11->C_OpenSession(slots[0], CKF_SERIAL_SESSION | CKF_RW_SESSION,
				     NULL, NULL, &session)) != CKR_OK)
		goto finalize;
	status = probe_command(slots[0], session, argc - 2, argv + 2);
	if (status == 0 && probe_failed)
		status = 1;
	p11->C_CloseSession(session);
finalize:
	p11->C_Finalize(NULL);
out:
	dlclose(module);
	return status;
}
