/**
 * Typed errors. Every error that reaches the user carries the exit code that scripts rely on
 * (see DESIGN.md) and a message that says what to do next. Messages never contain secret values.
 */

export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  auth: 3,
  corrupt: 4,
  conflict: 5,
  locked: 6,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export class EnclaveError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number = ExitCode.failure) {
    super(message);
    this.name = new.target.name;
    this.exitCode = exitCode;
  }
}

/** Bad command line or option value (exit 2). */
export class UsageError extends EnclaveError {
  constructor(message: string) {
    super(message, ExitCode.usage);
  }
}

/** Wrong passphrase or token (exit 3). */
export class AuthError extends EnclaveError {
  constructor(message: string) {
    super(message, ExitCode.auth);
  }
}

/** The vault file is truncated, damaged, foreign or of an unsupported format (exit 4). */
export class VaultCorruptError extends EnclaveError {
  constructor(detail: string, file?: string) {
    super(
      `vault file ${file ? `${file} ` : ""}is corrupted/truncated (${detail}); ` +
        "it was not modified. Restore it from a backup or from the remote copy and try again",
      ExitCode.corrupt,
    );
  }
}

/** The vault is locked, or there is no vault yet (exit 6). */
export class VaultLockedError extends EnclaveError {
  constructor(message = "the vault is locked; run `enclave unlock` first") {
    super(message, ExitCode.locked);
  }
}

export class NotInitializedError extends EnclaveError {
  constructor(home: string) {
    super(`no vault in ${home}; create one with \`enclave init\` (or set ENCLAVE_HOME)`, ExitCode.locked);
  }
}

/** The remote changed since this copy was based on it, or a merge found conflicting secrets (exit 5). */
export class ConflictError extends EnclaveError {
  constructor(message: string) {
    super(message, ExitCode.conflict);
  }
}
