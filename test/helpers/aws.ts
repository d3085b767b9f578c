/**
 * The AWS test set-ups several files share: moto_server with a session broker and the run's
 * credential endpoint in front of it, or moto_server behind the STS recorder; and enclave's own
 * (base) AWS environment pointing at them. Each `use…` registers the file's before/after hooks
 * and returns an object whose fields are set once `before` has run.
 */
import { after, before } from "node:test";
import { AwsSessionBroker } from "../../src/providers/aws/session-broker.js";
import { type CredentialServer, startCredentialServer } from "./credential-server.js";
import { type Moto, startMoto } from "./moto.js";
import { type StsRecorder, startStsRecorder } from "./sts-recorder.js";

/** The role the AWS tests assume (moto accepts any role of its account). */
export const TEST_ROLE = "arn:aws:iam::123456789012:role/agent";

/**
 * enclave's own AWS environment against moto: its dummy keys (the base credentials, which a
 * run's children never see), region, and STS at `moto` itself, or at `sts` (the recorder).
 */
export function baseAwsEnv(moto: Moto, sts = moto.endpoint): NodeJS.ProcessEnv {
  return { ...moto.env, AWS_ENDPOINT_URL_STS: sts };
}

export interface MotoCredentialServer {
  moto: Moto;
  /** Assumes `role` (default TEST_ROLE) for grant "deploy", on moto's STS. */
  broker: AwsSessionBroker;
  /** The run's credential endpoint serving `broker`, with its token and token file. */
  srv: CredentialServer;
}

/** moto_server, a broker on its STS and the credential endpoint, for the tests of one file. */
export function useMotoCredentialServer(o: {
  runId: string;
  durationSeconds: number;
  role?: string;
}): MotoCredentialServer {
  const fx = {} as MotoCredentialServer;
  before(async () => {
    fx.moto = await startMoto();
    fx.broker = new AwsSessionBroker({
      grantName: "deploy",
      runId: o.runId,
      config: { role: o.role ?? TEST_ROLE, durationSeconds: o.durationSeconds },
      env: baseAwsEnv(fx.moto),
    });
    fx.srv = await startCredentialServer(fx.broker);
  });
  after(async () => {
    await fx.srv?.close();
    fx.broker?.close();
    await fx.moto?.stop();
  });
  return fx;
}

export interface MotoStsRecorder {
  moto: Moto;
  /** Records every STS request on its way to moto; can answer with a fault instead. */
  rec: StsRecorder;
}

/** moto_server behind the STS recorder, for the tests of one file. */
export function useMotoStsRecorder(): MotoStsRecorder {
  const fx = {} as MotoStsRecorder;
  before(async () => {
    fx.moto = await startMoto();
    fx.rec = await startStsRecorder(fx.moto.endpoint);
  });
  after(async () => {
    await fx.rec?.close();
    await fx.moto?.stop();
  });
  return fx;
}
