// Where the CLI writes: results on stdout (JSON with --json), errors on stderr in one line.
export interface Output {
  json: boolean;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  line(text: string): void;
  /** The result of a command: its JSON with --json, else the sentence for people. */
  result(human: string, data: unknown): void;
}

export function output(json: boolean, stdout = process.stdout, stderr = process.stderr): Output {
  const line = (text: string) => {
    stdout.write(`${text}\n`);
  };
  return { json, stdout, stderr, line, result: (human, data) => line(json ? JSON.stringify(data) : human) };
}
