/* test_err.c — every error code has its own text; unknown codes are safe. */
#include <CUnit/CUnit.h>
#include <string.h>

#include "proto/err.h"

static void test_distinct_strings(void)
{
	for (int a = ERR_MIN_ + 1; a <= 0; a++) {
		CU_ASSERT_STRING_NOT_EQUAL(err_str(a), "unknown error");
		for (int b = a + 1; b <= 0; b++)
			CU_ASSERT_STRING_NOT_EQUAL(err_str(a), err_str(b));
	}
}

static void test_unknown_codes(void)
{
	CU_ASSERT_STRING_EQUAL(err_str(ERR_MIN_), "unknown error");
	CU_ASSERT_STRING_EQUAL(err_str(7), "unknown error");
	CU_ASSERT_STRING_EQUAL(err_str(-1000), "unknown error");
}

void suite_err(void);
void suite_err(void)
{
	CU_pSuite s = CU_add_suite("err", NULL, NULL);
	CU_add_test(s, "distinct strings", test_distinct_strings);
	CU_add_test(s, "unknown codes", test_unknown_codes);
}
