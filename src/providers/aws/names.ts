/**
 * The AWS names enclave accepts, in one place: what `grant aws` validates is exactly what a run
 * can later write into the child's AWS config file (`[profile enclave-<grant>]`, `region = …`).
 */

/**
 * A profile name enclave can write into a config file's section header, into messages and into
 * AWS_PROFILE without quoting surprises: no blanks, brackets, `#` or `;`. Long enough for
 * `enclave-` and the longest grant name (64).
 */
export const AWS_PROFILE_NAME = /^[\w+=,.@:/-]{1,128}$/;
export const AWS_PROFILE_NAME_RULE = "1–128 letters, digits or _+=,.@:/-";

/** A region name: us-east-1, eu-central-1, us-gov-west-1, cn-north-1, us-isob-east-1… */
export const AWS_REGION_NAME = /^[a-z]{2,3}(-[a-z]+)+-\d{1,2}$/;
