/**
 * A tiny seccomp filter (classic BPF, as bubblewrap's `--seccomp FD` takes it) that makes
 * `ioctl(fd, TIOCSTI | TIOCLINUX, …)` fail with EPERM and allows everything else.
 *
 * Why: the sandboxed command keeps the operator's terminal as its controlling terminal (so that
 * Ctrl-C, job control and /dev/tty keep working; bubblewrap's `--new-session` would break them).
 * On kernels that still allow it (before 6.2, or `dev.tty.legacy_tiocsti=1`), TIOCSTI on that
 * terminal pushes characters into its input queue: the operator's shell would run them after the
 * run ends, outside the sandbox. Flatpak blocks the same two ioctls the same way.
 */
import { endianness } from "node:os";

/** struct seccomp_data: int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6]. */
const OFF_NR = 0;
const OFF_ARCH = 4;
const OFF_ARG1 = 24; // args[1], the ioctl request; its low 32 bits are what the kernel uses

const BPF_LD_W_ABS = 0x20;
const BPF_JEQ_K = 0x15;
const BPF_RET_K = 0x06;

const SECCOMP_RET_ALLOW = 0x7fff0000;
const SECCOMP_RET_ERRNO = 0x00050000;
const EPERM = 1;

export const TIOCSTI = 0x5412;
export const TIOCLINUX = 0x541c;

/** ioctl's syscall numbers per audit architecture, for the ABIs a process of this machine can use. */
const IOCTL_NR: Record<string, { arch: number; nrs: number[] }[]> = {
  x64: [
    { arch: 0xc000003e, nrs: [16, 0x40000000 + 514] }, // x86_64 and x32
    { arch: 0x40000003, nrs: [54] }, // i386 (int 0x80 / compat)
  ],
  arm64: [
    { arch: 0xc00000b7, nrs: [29] }, // aarch64
    { arch: 0x40000028, nrs: [54] }, // arm (compat)
  ],
};

type Insn = { code: number; jt: number | string; jf: number | string; k: number; label?: string };

/** The filter for this machine's architecture, or undefined where it is not known. */
export function tiocstiFilter(arch: string = process.arch): Buffer | undefined {
  const abis = IOCTL_NR[arch];
  if (!abis) return undefined;
  const prog: Insn[] = [];
  const ld = (k: number, label?: string) => prog.push({ code: BPF_LD_W_ABS, jt: 0, jf: 0, k, label });
  const jeq = (k: number, jt: number | string, jf: number | string) =>
    prog.push({ code: BPF_JEQ_K, jt, jf, k });
  const ret = (k: number, label?: string) => prog.push({ code: BPF_RET_K, jt: 0, jf: 0, k, label });

  ld(OFF_ARCH);
  abis.forEach((abi, i) => {
    jeq(abi.arch, `abi${i}`, 0);
  });
  ret(SECCOMP_RET_ALLOW);
  abis.forEach((abi, i) => {
    ld(OFF_NR, `abi${i}`);
    for (const nr of abi.nrs) jeq(nr, "check", 0);
    ret(SECCOMP_RET_ALLOW);
  });
  ld(OFF_ARG1 + (endianness() === "LE" ? 0 : 4), "check");
  jeq(TIOCSTI, "deny", 0);
  jeq(TIOCLINUX, "deny", 0);
  ret(SECCOMP_RET_ALLOW);
  ret(SECCOMP_RET_ERRNO | EPERM, "deny");

  const at = new Map(prog.flatMap((insn, i) => (insn.label ? [[insn.label, i] as const] : [])));
  const target = (from: number, t: number | string): number => {
    if (typeof t === "number") return t;
    const off = at.get(t)! - from - 1;
    if (off < 0 || off > 255) throw new Error(`seccomp: jump to ${t} out of range`);
    return off;
  };
  const out = Buffer.alloc(prog.length * 8);
  const le = endianness() === "LE";
  prog.forEach((insn, i) => {
    const o = i * 8;
    if (le) out.writeUInt16LE(insn.code, o);
    else out.writeUInt16BE(insn.code, o);
    out.writeUInt8(target(i, insn.jt), o + 2);
    out.writeUInt8(target(i, insn.jf), o + 3);
    if (le) out.writeUInt32LE(insn.k >>> 0, o + 4);
    else out.writeUInt32BE(insn.k >>> 0, o + 4);
  });
  return out;
}

/** The bytes as a printf(1) format of `\ooo` escapes: no `%`, no NUL, safe as one argv element. */
export function printfEscaped(bytes: Buffer): string {
  let s = "";
  for (const b of bytes) s += `\\${b.toString(8).padStart(3, "0")}`;
  return s;
}
