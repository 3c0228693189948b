/**
 * The command line checked against the settings' flags. convict reads the flags it knows and
 * ignores everything else, so a mistyped `--grpc-portt 5` started the server on the default port;
 * this refuses it, and any argument that is neither a flag nor a flag's value. The forms are
 * the ones convict's parser (yargs-parser) reads: `--name value`, `--name=value`, a bare
 * `--name` (true) and `--no-name` (false).
 */

/** Every setting's command-line flag in a convict schema, without its leading `--`. */
export function flagNames(schema: object): Set<string> {
  const names = new Set<string>();
  const walk = (node: object): void => {
    for (const value of Object.values(node)) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) continue;
      if ('arg' in value && typeof value.arg === 'string') names.add(value.arg);
      else walk(value);
    }
  };
  walk(schema);
  return names;
}

/** Why the command line cannot be read, or undefined when every argument is a known flag or its value. */
export function commandLineProblem(argv: readonly string[], known: ReadonlySet<string>): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i];
    if (!token.startsWith('-') || isNegativeNumber(token)) {
      return `unexpected argument '${token}': settings are given as --flag value, environment variables or a --config file`;
    }
    const name = token.replace(/^--?/, '').split('=')[0];
    const flag = known.has(name) || !name.startsWith('no-') ? name : name.slice(3);
    if (!token.startsWith('--') || !known.has(flag)) return `unknown flag '${token.split('=')[0]}' (the flags are in the README's configuration table)`;
    const next = argv[i + 1];
    // A bare flag is true; what follows it is its value unless it is another flag.
    if (!token.includes('=') && next !== undefined && (!next.startsWith('-') || isNegativeNumber(next))) i++;
  }
  return undefined;
}

function isNegativeNumber(token: string): boolean {
  return /^-[0-9]/.test(token);
}
