// Placeholder written by the lead so cli.ts compiles; the pipeline/init engineer replaces this file whole.
export async function initCommand(opts: {
  source: string;
  destination: string;
  force: boolean;
  cwd: string;
  out: (line: string) => void;
  err: (line: string) => void;
}): Promise<{ exitCode: number; properties: { pipeline_name: string; destination_name: string } }> {
  opts.err("init is not implemented yet");
  return { exitCode: 1, properties: { pipeline_name: opts.source, destination_name: opts.destination } };
}
