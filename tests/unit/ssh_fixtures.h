/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * OpenSSH private keys for the SSH unit tests (test_sshtrans,
 * test_sshsess), made for them with `ssh-keygen -t ecdsa -b 256 -N ''
 * -C unit` and `ssh-keygen -t rsa -b 2048 -N '' -C unit`, and the
 * fingerprints `ssh-keygen -l` prints for them. Test keys only: they
 * protect nothing. An embedded RSA key also spares the tests a key
 * generation, slow under the sanitizers.
 */
#ifndef FG_TESTS_SSH_FIXTURES_H
#define FG_TESTS_SSH_FIXTURES_H

static const char KEY_ECDSA[] =
	"-----BEGIN OPENSSH PRIVATE KEY-----\n"
	"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAaAAAABNlY2RzYS\n"
	"1zaGEyLW5pc3RwMjU2AAAACG5pc3RwMjU2AAAAQQS1aVJ//SMfEFtwnYdA+47oHVc2OZZt\n"
	"SVdQQaluF9qVoemEUHQ1HWAeQULKgMmUexp/xvFQVh6ckcUeKUbVq6KnAAAAoAyrKMoMqy\n"
	"jKAAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBLVpUn/9Ix8QW3Cd\n"
	"h0D7jugdVzY5lm1JV1BBqW4X2pWh6YRQdDUdYB5BQsqAyZR7Gn/G8VBWHpyRxR4pRtWroq\n"
	"cAAAAgcluKzdwwcrbE6nvPUfu2NBCn2C835H4vxKVaeD2ZjGQAAAAEdW5pdAECAwQ=\n"
	"-----END OPENSSH PRIVATE KEY-----\n";
static const char FP_ECDSA[] = "SHA256:EczWO/WzhWhl/SCuQN6LDlenGEATwTMYSSmR82xMUT0";

static const char KEY_RSA[] =
	"-----BEGIN OPENSSH PRIVATE KEY-----\n"
	"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAABFwAAAAdzc2gtcn\n"
	"NhAAAAAwEAAQAAAQEAnuTGusvvsKK5mZ+PkIuw6sREO/jhQhtv66bNqD+O52mK1ohV0zhq\n"
	"u/zaqm9eRn1QZSqd3ZxkxiY/Moo7pE+fV3Nb2sBL+TPWDj+KsNxvu3p7T6bMb1/bDUgMWL\n"
	"FPXbQbwkgFFySKnjIJGPUXMUywR1X6S23irxN2QADLFGTUfTSlyyTAsWUNY8N8TpYpGJF0\n"
	"NPskmvRK0WBvKC+VLZRqCcS7rFoCxXhJ49qMCSMcahkZFfbhsVFmR0qQpnN3cyWp74XDAw\n"
	"VBJ58o9Iv35ZBJUvE+Rm7rBryAKYkLd9uYWSPvFw/SqA/zhDpnd4EdngeCshUMdGnEjvuI\n"
	"we8+HyVY7QAAA8BKfkKoSn5CqAAAAAdzc2gtcnNhAAABAQCe5Ma6y++wormZn4+Qi7DqxE\n"
	"Q7+OFCG2/rps2oP47naYrWiFXTOGq7/Nqqb15GfVBlKp3dnGTGJj8yijukT59Xc1vawEv5\n"
	"M9YOP4qw3G+7entPpsxvX9sNSAxYsU9dtBvCSAUXJIqeMgkY9RcxTLBHVfpLbeKvE3ZAAM\n"
	"sUZNR9NKXLJMCxZQ1jw3xOlikYkXQ0+ySa9ErRYG8oL5UtlGoJxLusWgLFeEnj2owJIxxq\n"
	"GRkV9uGxUWZHSpCmc3dzJanvhcMDBUEnnyj0i/flkElS8T5GbusGvIApiQt325hZI+8XD9\n"
	"KoD/OEOmd3gR2eB4KyFQx0acSO+4jB7z4fJVjtAAAAAwEAAQAAAQAMOHtCZan/M1zEAH4p\n"
	"t1y5ibPXyvoEPBj9Dly16oGCsd7gRicXsjifUcC9qAgfssaqqT7wCvXDObDVocUZi5gtQS\n"
	"2Y4v5U4dQ+T0vK84FScYanZyRFEqHF4Ts13RlGEzKpXCGsGH7i0OVbOop4m7XZHrc78u0i\n"
	"2wPWw1jbLjAbmwBk0eKrbErbSvHvHd03LWaX7ob1EH9vm4P5/7Pkk77DOdOZGapOaRXyPG\n"
	"POs0HG/HWN1l/SyiDHbkVH4ru4n0mnDvNMD0PJWHQwmRGT76tlTF5l25C19FZGaU/h4UL+\n"
	"so8X8EtyKiosJXbP2bzDP2/aWJN46dpNH8B/BzZnRZQxAAAAgQDRMNS77KsUz7m/HugzLh\n"
	"c7XRhDQT4l+ufpUA/+xO2tcWwsjl2d2PEQwLC/GbBLZ9G82/3unYVGCxxPIxM65KV4cWxL\n"
	"ayYGrAQUcBdojU2K7qZPqq8c+iLelTVlws5gL9eqisjoL3lBtjSxLW9tCpUQNf14Ges4BH\n"
	"8VyTrAXl2AWAAAAIEA2K4+a0unf9AA11pT/h4o2CRrYM+cayRcZI5YzI+M19qfZ5/wxnlZ\n"
	"KkpUxZtdWxNmQGf5iD1tCiNIyrGpssYG2BThyADb58sIAFsWLYRIhUjO6mPE8Ky8eNsLgp\n"
	"/CzmUdp/jUyd7dsmxNOuOkRSgX5Zo+YC+5nHGfmTM5b/yHZNUAAACBALu6E4k2J0fdkPYp\n"
	"eEQqzeTNcDSQ1klcka/DyAJ6CfDbCQxJsxZAuZqx6M+KcHt3cfy/+PKy8tTJOEI6XirLSd\n"
	"Lgrd3A8h/QBVE6S2YFfiS+JBHmRZc8kNCyPBqZApNBhnQXbjwvoZ3X0wUmTyO67BQnFClp\n"
	"d8u7O5pLZ5gfUQ+5AAAABHVuaXQBAgMEBQY=\n"
	"-----END OPENSSH PRIVATE KEY-----\n";
static const char FP_RSA[] = "SHA256:YQYWdlLP1wgv6ppnVT0bTjZ4DLVGARW6umnJLMKMhOE";

#endif
