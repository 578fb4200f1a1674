// A coloured word diff for the terminal (jsdiff), plain markers when colour is off.
import { diffWordsWithSpace } from 'diff';

export function renderWordDiff(before: string, after: string, colour: boolean): string {
  return diffWordsWithSpace(before, after)
    .map((part) => {
      if (part.added) return colour ? `\x1b[32m${part.value}\x1b[0m` : `{+${part.value}+}`;
      if (part.removed) return colour ? `\x1b[31;9m${part.value}\x1b[0m` : `[-${part.value}-]`;
      return part.value;
    })
    .join('');
}

export function useColour(stream: NodeJS.WriteStream): boolean {
  return Boolean(stream.isTTY) && !process.env.NO_COLOR;
}
