// Reading an LLM judge's verdict ("A", "B" or a tie) out of free text, and combining the two
// position orders: the judge sees (original, corrected) and (corrected, original), and only a
// verdict that survives the swap counts (MT-Bench's conservative rule; Zheng et al. 2023).

export type Verdict = 'A' | 'B' | 'tie';
/** From the correction's side. */
export type Outcome = 'win' | 'tie' | 'lose' | 'invalid';
export const OUTCOMES: readonly Outcome[] = ['win', 'tie', 'lose', 'invalid'];

const TIE_WORD = String.raw`(?:tie|draw|equal|equally good|equally bad|both|neither|same|c)`;
const WHO = String.raw`(?:response|answer|assistant|output|option|candidate)`;

function tieOr(letter: string): Verdict | null {
  const l = letter.trim();
  if (l === 'A' || l === 'B') return l;
  if (/^[ab]$/.test(l)) return null; // a lower-case "a" is an article, not a verdict
  return new RegExp(`^${TIE_WORD}$`, 'i').test(l) ? 'tie' : null;
}

/** The whole text (or line) is just a verdict: "A", "(B)", "Response A.", "Tie". */
function bare(text: string): Verdict | null {
  const m = new RegExp(String.raw`^\W*(?:${WHO}\s*)?\(?\s*([AB]|${TIE_WORD})\s*\)?\W*$`, 'i').exec(text);
  if (!m) return null;
  const word = m[1]!;
  // "Response a" is a verdict even in lower case; a lone "a" is not.
  return /^[ab]$/.test(word) && !new RegExp(WHO, 'i').test(text) ? null : tieOr(word.toUpperCase());
}

/** The last match of `re` that `read` turns into a verdict (earlier ones are restated reasoning). */
function lastVerdict(text: string, re: RegExp, read: (m: RegExpMatchArray) => Verdict | null): Verdict | null {
  const matches = [...text.matchAll(re)];
  for (let i = matches.length - 1; i >= 0; i--) {
    const v = read(matches[i]!);
    if (v) return v;
  }
  return null;
}

/** Parses a judge's reply; null when no verdict can be read. */
export function parseVerdict(reply: string): Verdict | null {
  const text = reply.replace(/[*_`#]/g, '').trim();
  if (!text) return null;
  const whole = bare(text);
  if (whole) return whole;

  // MT-Bench style: [[A]], [[B]], [[C]] (tie).
  const bracket = lastVerdict(text, /\[\[\s*(A|B|C|tie)\s*\]\]/gi, (m) => {
    const w = m[1]!.toUpperCase();
    return w === 'A' || w === 'B' ? w : 'tie';
  });
  if (bracket) return bracket;

  // "Verdict: A", "Final answer: Response B", "The better response is A", "Winner - tie".
  const labelled = lastVerdict(
    text,
    new RegExp(
      String.raw`\b(?:final\s+)?(?:verdict|answer|winner|decision|choice|judg(?:e)?ment|preference|better\s+${WHO}|${WHO}\s+that\s+is\s+better)\s*(?:is|:|=|-|—)\s*(?:that\s+)?(?:${WHO}\s*)?["'(\[]?\s*([AB]|tie|draw|C)\b`,
      'gi',
    ),
    (m) => tieOr(m[1]!.toUpperCase() === 'C' ? 'tie' : m[1]!),
  );
  if (labelled) return labelled;

  const lastLine = bare(
    text
      .split('\n')
      .filter((l) => l.trim())
      .at(-1) ?? '',
  );
  if (lastLine) return lastLine;

  // "Response A is better", "I prefer Response B", "Assistant B wins".
  const claim = lastVerdict(
    text,
    new RegExp(
      String.raw`\b(?:${WHO}\s+\(?([AB])\)?\s+(?:is|was|seems|appears)\s+(?:clearly\s+|slightly\s+|much\s+|far\s+|overall\s+)?(?:better|superior|preferred|preferable|more\s+\w+)|${WHO}\s+\(?([AB])\)?\s+wins|prefer\s+(?:${WHO}\s+)?\(?([AB])\)?(?![\w']))`,
      'gi',
    ),
    (m) => {
      const letter = (m[1] ?? m[2] ?? m[3])!;
      // "prefer a shorter answer": a lower-case letter counts only after "response" & co.
      if (/^[ab]$/.test(letter) && !new RegExp(String.raw`${WHO}\s+\(?[ab]`, 'i').test(m[0])) return null;
      return letter.toUpperCase() as Verdict;
    },
  );
  if (claim) return claim;

  if (
    /\b(?:it(?:'|’)?s a tie|a tie|tie\b|both (?:responses|answers) are (?:equally|equal)|equally (?:good|bad|helpful|harmless))/i.test(
      text,
    )
  ) {
    return 'tie';
  }
  return null;
}

/** The correction's outcome in one order, given which letter the correction had. */
export function outcomeOf(verdict: Verdict | null, correctionIs: 'A' | 'B'): Outcome {
  if (verdict === null) return 'invalid';
  if (verdict === 'tie') return 'tie';
  return verdict === correctionIs ? 'win' : 'lose';
}

/**
 * Both orders must agree: win+win = win, lose+lose = lose, tie+tie = tie, any disagreement
 * (win+lose, win+tie, lose+tie) = tie; an unreadable verdict in either order = invalid.
 */
export function combineOrders(first: Outcome, second: Outcome): Outcome {
  if (first === 'invalid' || second === 'invalid') return 'invalid';
  return first === second ? first : 'tie';
}

/** +1 win, 0 tie, -1 lose: the mean over valid rows is win rate minus lose rate. */
export function outcomeScore(o: Outcome): 1 | 0 | -1 | null {
  return o === 'win' ? 1 : o === 'lose' ? -1 : o === 'tie' ? 0 : null;
}
