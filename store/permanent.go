package store

import (
	"crypto/x509"
	"errors"

	gomysql "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
)

// Permanent reports whether err (from Open, Ping, the schema check or a
// statement) is one that retrying cannot cure, and what the operator should
// check: wrong credentials, missing grants, a database that does not
// exist, a DSN the server or the driver refuses, a SQLite file that cannot
// be opened or written. Outages (a refused connection, a timeout, a server
// that restarts, too many connections) and errors it does not know are not
// permanent: those are retried.
func Permanent(err error) (hint string, ok bool) {
	if err == nil {
		return "", false
	}
	var me *gomysql.MySQLError
	if errors.As(err, &me) {
		hint, ok = mysqlHints[me.Number]
		return hint, ok
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		hint, ok = postgresHints[pe.Code]
		return hint, ok
	}
	var x509Err x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var certErr x509.CertificateInvalidError
	switch {
	case errors.Is(err, gomysql.ErrNoTLS), errors.As(err, &x509Err), errors.As(err, &hostErr), errors.As(err, &certErr):
		return "check the tls parameter of database.dsn (SYNCD_DATABASE_DSN) against the server's TLS setup", true
	case errors.Is(err, gomysql.ErrCleartextPassword), errors.Is(err, gomysql.ErrNativePassword),
		errors.Is(err, gomysql.ErrOldPassword), errors.Is(err, gomysql.ErrUnknownPlugin):
		return "the user's authentication plugin is not one syncd's driver speaks: give the user mysql_native_password or caching_sha2_password (ALTER USER), or allow it in database.dsn as the message says", true
	}
	var se interface{ Code() int } // SQLite's errors, without importing the driver
	if errors.As(err, &se) {
		hint, ok = sqliteHints[se.Code()&0xff] // the primary code of an extended one
		return hint, ok
	}
	return "", false
}

const (
	grantHint = "grant the user in database.dsn (SYNCD_DATABASE_DSN) SELECT, INSERT, UPDATE, DELETE on the database " +
		"(`syncd schema apply` also needs CREATE, ALTER, INDEX): GRANT ... ON db.* TO 'user'@'host'"
	sessionHint = "the server refused a setting of the connection: check the parameters of database.dsn " +
		"(SYNCD_DATABASE_DSN) such as charset, collation and session variables against this server's version"
)

// mysqlHints are the server errors an operator has to act on, by number
// (https://mariadb.com/kb/en/mariadb-error-codes/).
var mysqlHints = map[uint16]string{
	1044: grantHint, // ER_DBACCESS_DENIED_ERROR
	1045: "check the user and password in database.dsn (SYNCD_DATABASE_DSN), and that this user may log in " +
		"with a password from this host", // ER_ACCESS_DENIED_ERROR
	1698: "the server refuses a password login for this user: on MariaDB and Debian's MySQL, root logs in only " +
		"through the unix socket; create a user for syncd (CREATE USER … IDENTIFIED BY …) and put it in " +
		"database.dsn (SYNCD_DATABASE_DSN)", // ER_ACCESS_DENIED_NO_PASSWORD_ERROR
	1049: "create the database (CREATE DATABASE name CHARACTER SET utf8mb4) and apply the schema " +
		"(`syncd schema apply`), or fix the database name in database.dsn (SYNCD_DATABASE_DSN)", // ER_BAD_DB_ERROR
	1129: "the server blocked this host after too many failed connections: run FLUSH HOSTS " +
		"(mysqladmin flush-hosts) once the cause is fixed", // ER_HOST_IS_BLOCKED
	1130: "the server does not let this user connect from this host: create or grant the user for this host " +
		"('user'@'host')", // ER_HOST_NOT_PRIVILEGED
	1142: grantHint,   // ER_TABLEACCESS_DENIED_ERROR
	1143: grantHint,   // ER_COLUMNACCESS_DENIED_ERROR
	1115: sessionHint, // ER_UNKNOWN_CHARACTER_SET
	1273: sessionHint, // ER_UNKNOWN_COLLATION
	1193: sessionHint, // ER_UNKNOWN_SYSTEM_VARIABLE
	1231: sessionHint, // ER_WRONG_VALUE_FOR_VAR
	1232: sessionHint, // ER_WRONG_TYPE_FOR_VAR
	1251: "the user's authentication plugin is not one syncd's driver speaks: give the user " +
		"mysql_native_password or caching_sha2_password (ALTER USER)", // ER_NOT_SUPPORTED_AUTH_MODE
	1820: "the password of the user in database.dsn has expired: set a new one (ALTER USER … IDENTIFIED BY …) " +
		"and put it in database.dsn (SYNCD_DATABASE_DSN)", // ER_MUST_CHANGE_PASSWORD
	1862: "the password of the user in database.dsn has expired: set a new one (ALTER USER … IDENTIFIED BY …) " +
		"and put it in database.dsn (SYNCD_DATABASE_DSN)", // ER_MUST_CHANGE_PASSWORD_LOGIN
	3118: "the account in database.dsn is locked: ALTER USER … ACCOUNT UNLOCK", // MySQL ER_ACCOUNT_HAS_BEEN_LOCKED
	4151: "the account in database.dsn is locked: ALTER USER … ACCOUNT UNLOCK", // MariaDB ER_ACCOUNT_HAS_BEEN_LOCKED
}

// postgresHints are the PostgreSQL errors an operator has to act on, by
// SQLSTATE (https://www.postgresql.org/docs/current/errcodes-appendix.html).
var postgresHints = map[string]string{
	"28P01": "check the user and password in database.dsn (SYNCD_DATABASE_DSN)", // invalid_password
	"28000": "the server does not let this user connect: check that the role in database.dsn (SYNCD_DATABASE_DSN) " +
		"exists (CREATE ROLE … LOGIN) and that pg_hba.conf admits it from this host", // invalid_authorization_specification
	"3D000": "create the database (CREATE DATABASE name ENCODING 'UTF8') and apply the schema (`syncd schema apply`), " +
		"or fix the database name in database.dsn (SYNCD_DATABASE_DSN)", // invalid_catalog_name
	"42501": "grant the user in database.dsn (SYNCD_DATABASE_DSN) SELECT, INSERT, UPDATE, DELETE on syncd's tables and " +
		"USAGE on their sequences (`syncd schema apply` also needs CREATE on the schema)", // insufficient_privilege
	"42704": sessionHint, // undefined_object: an unknown setting in the DSN
	"22023": sessionHint, // invalid_parameter_value
}

// sqliteHints are SQLite's primary result codes an operator has to act on
// (https://www.sqlite.org/rescode.html). SQLITE_BUSY and SQLITE_FULL pass:
// another process or a full disk can go away by itself.
var sqliteHints = map[int]string{
	3: "SQLite may not access the database file: check the permissions of database.dsn (SYNCD_DATABASE_DSN), " +
		"its -wal and -shm files and its folder", // SQLITE_PERM
	8: "the SQLite database is read-only for syncd: check that syncd's user may write the file in database.dsn " +
		"(SYNCD_DATABASE_DSN), its -wal and -shm files and its folder, and that the DSN has no mode=ro", // SQLITE_READONLY
	11: "the SQLite database file is damaged: restore it from a backup, or point database.dsn " +
		"(SYNCD_DATABASE_DSN) at a new file", // SQLITE_CORRUPT
	14: "SQLite cannot open or create the database file: check that the folder of database.dsn " +
		"(SYNCD_DATABASE_DSN) exists and syncd's user may write there", // SQLITE_CANTOPEN
	23: "SQLite refused access to the database (SQLITE_AUTH): check database.dsn (SYNCD_DATABASE_DSN)", // SQLITE_AUTH
	26: "the file in database.dsn (SYNCD_DATABASE_DSN) is not a SQLite database: point it at syncd's " +
		"database, or at a path where syncd may create one", // SQLITE_NOTADB
}
