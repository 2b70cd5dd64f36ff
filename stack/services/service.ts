// What every local service (Kafka, ClickHouse, Redis) offers to `tessera up/down/status`.
export interface ServiceStatus {
  name: string;
  /** ours: started by `tessera up` and alive; external: something healthy on the port we did not start */
  state: 'running' | 'stopped' | 'external' | 'unhealthy';
  pid?: number;
  endpoint: string;
  detail?: string;
}

export interface LocalService {
  name: string;
  endpoint: string;
  /** installs binaries if missing (may take minutes on a fresh machine) */
  install(log: (m: string) => void): void;
  /** starts if not running, waits for health; returns whether it had to start */
  start(log: (m: string) => void): Promise<'started' | 'already-running' | 'external'>;
  stop(): Promise<boolean>;
  /** SIGKILL (a crash, for the chaos suite); false when it is not ours or not running */
  kill(): Promise<boolean>;
  status(): Promise<ServiceStatus>;
}
