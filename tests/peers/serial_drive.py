#!/usr/bin/env python3
"""An independent plain-serial drive for interoperability tests: shares no code with linevisor.

Written from the vendors' public manuals, not from linevisor's profiles or codecs:
  tmcl  Trinamic TMCL (TMCL firmware manual, 3.1 and 3.2): 9-byte binary frames, sum checksum,
        reply [host address, module address, status, command, value (4 bytes, big endian),
        checksum], status 100 = success; ROR 1, MST 3, MVP 4, SAP 5, GAP 6, RFS 13.
  scl   Applied Motion SCL (Host Command Reference 920-0002): "<address><command>[parameter]\\r",
        replies "<address>%" (executed), "<address>?<code>" (error), "<address>XX=<value>".

Usage: serial_drive.py {tmcl|scl} ADDRESS
Opens a pseudo-terminal, prints "pty <path>" on stdout, answers requests until stdin closes,
then prints one JSON line: requests seen, requests malformed (with the first few), and the
commands seen. Every request is checked strictly; a malformed one is answered with nothing.
"""

import json
import os
import re
import select
import sys
import termios
import tty

TMCL_HOST = 2  # the reply's first byte: the host address (TMCL default)


def sum8(data):
    return sum(data) & 0xFF


def s32(v):
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v & 0x80000000 else v


class Tmcl:
    def __init__(self, address):
        self.address = address
        self.params = {n: 0 for n in range(256)}
        self.params[6] = 128  # maximum current
        self.buf = b""

    def feed(self, data, report):
        self.buf += data
        out = b""
        while len(self.buf) >= 9:
            frame, self.buf = self.buf[:9], self.buf[9:]
            out += self.request(frame, report)
        return out

    def request(self, f, report):
        report["requests"] += 1
        if sum8(f[:8]) != f[8]:
            report.malformed(f.hex(), "checksum")
            return b""
        address, command, typ, motor = f[0], f[1], f[2], f[3]
        value = s32(int.from_bytes(f[4:8], "big"))
        if address != self.address:
            return b""
        report["commands"].add(f"{command}:{typ}")
        status, result = 100, value
        if motor != 0:
            status = 4
        elif command == 1:  # ROR: rotate at velocity
            self.params[2] = self.params[3] = value
        elif command == 3:  # MST
            self.params[2] = self.params[3] = 0
        elif command == 4 and typ == 0:  # MVP ABS: this drive arrives at once
            self.params[0] = self.params[1] = value
        elif command == 5:  # SAP
            self.params[typ] = value
        elif command == 6:  # GAP
            result = self.params[typ]
        elif command == 13 and typ == 0:  # RFS START
            self.params[1] = 0
        else:
            status, result = 2, 0
        body = bytes([TMCL_HOST, self.address, status, command]) + (result & 0xFFFFFFFF).to_bytes(4, "big")
        return body + bytes([sum8(body)])


SCL_LINE = re.compile(r"^([1-9])([A-Z]{2})(-?[0-9]+(\.[0-9]+)?|[0-9][A-Z])?$")


class Scl:
    def __init__(self, address):
        self.address = str(address)
        self.enabled = False
        self.values = {"JS": "0.0000", "DI": "0", "CC": "2.50"}
        self.position = 0
        self.buf = b""

    def feed(self, data, report):
        self.buf += data
        out = b""
        while b"\r" in self.buf:
            line, self.buf = self.buf.split(b"\r", 1)
            out += self.request(line, report)
        return out

    def request(self, line, report):
        report["requests"] += 1
        try:
            text = line.decode("ascii")
        except UnicodeDecodeError:
            report.malformed(line.hex(), "not ascii")
            return b""
        m = SCL_LINE.match(text)
        if not m:
            report.malformed(text, "not <address><command>[parameter]")
            return b""
        address, command, param = m.group(1), m.group(2), m.group(3)
        if address != self.address:
            return b""
        report["commands"].add(command + ("=" if param else ""))

        def reply(body):
            return (self.address + body + "\r").encode("ascii")

        if command in ("ME", "MD"):
            self.enabled = command == "ME"
        elif command in ("ST", "SK", "AR", "CJ", "SH"):
            pass
        elif command == "FP":
            self.position = int(self.values["DI"])
        elif command in ("JS", "DI", "CC"):
            if param is None:
                return reply(f"{command}={self.values[command]}")
            if command == "JS":
                self.values["JS"] = f"{float(param):.4f}"
            elif command == "CC":
                self.values["CC"] = f"{float(param):.2f}"
            else:
                self.values["DI"] = str(int(param))
        elif command == "SC" and param is None:
            return reply(f"SC={0x0001 if self.enabled else 0:04X}")
        elif command == "AL" and param is None:
            return reply("AL=0000")
        elif command == "IP" and param is None:
            return reply(f"IP={self.position & 0xFFFFFFFF:08X}")
        else:
            return reply("?4")
        return reply("%")


class Report(dict):
    def malformed(self, what, why):
        self["malformed"] += 1
        if len(self["examples"]) < 5:
            self["examples"].append(f"{what}: {why}")


def main():
    family, address = sys.argv[1], int(sys.argv[2])
    drive = Tmcl(address) if family == "tmcl" else Scl(address)
    master, slave = os.openpty()
    tty.setraw(master)
    tty.setraw(slave)
    attrs = termios.tcgetattr(slave)
    attrs[3] &= ~termios.ECHO
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    print(f"pty {os.ttyname(slave)}", flush=True)
    report = Report(requests=0, malformed=0, examples=[], commands=set())
    while True:
        ready, _, _ = select.select([master, sys.stdin], [], [])
        if sys.stdin in ready and not sys.stdin.readline():
            break
        if master in ready:
            try:
                data = os.read(master, 4096)
            except OSError:
                continue
            out = drive.feed(data, report)
            if out:
                os.write(master, out)
    report["commands"] = sorted(report["commands"])
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
