# Makes passwords "expired by age" for real, on a running Samba AD DC.
#
# AD only lets LDAP clients write 0 or -1 to pwdLastSet, and Samba (like AD) ignores any maximum
# password age of one day or less (source4/dsdb/samdb/ldb_modules/operational.c), so neither a
# tiny msDS-MaximumPasswordAge in a PSO nor an LDAP write can produce an expired password
# without waiting for days. Instead this opens the DC's own sam.ldb locally (the same way
# `samba-tool` does while the DC runs) and, with Samba's private control
# DSDB_CONTROL_PASSWORD_BYPASS_LAST_SET_OID (1.3.6.1.4.1.7165.4.3.20, the one Samba uses when it
# imports passwords on upgrades), moves pwdLastSet back by `days`. With the domain's 42-day
# maximum age the DC then reports the password as expired everywhere: LDAP bind `data 532`,
# Kerberos "Password has expired", msDS-User-Account-Control-Computed UF_PASSWORD_EXPIRED.
#
# Usage: backdate-password.py <smb.conf>, then on stdin: {"dns": ["CN=...", ...], "days": 200}
# (the database is opened before stdin is read, so a caller can start this early).
import json
import sys
import time

import ldb
from samba.auth import system_session
from samba.param import LoadParm
from samba.samdb import SamDB

BYPASS_LAST_SET = "local_oid:1.3.6.1.4.1.7165.4.3.20:0"


def main():
    lp = LoadParm()
    lp.load(sys.argv[1])
    samdb = SamDB(url=lp.private_path("sam.ldb"), session_info=system_session(), lp=lp)
    args = json.load(sys.stdin)
    when = int((time.time() - float(args["days"]) * 86400 + 11644473600) * 10_000_000)
    for dn in args["dns"]:
        m = ldb.Message()
        m.dn = ldb.Dn(samdb, dn)
        m["pwdLastSet"] = ldb.MessageElement(str(when), ldb.FLAG_MOD_REPLACE, "pwdLastSet")
        samdb.modify(m, controls=[BYPASS_LAST_SET])
    json.dump({"pwdLastSet": str(when)}, sys.stdout)


main()
