// Small Q-A-C rows the tests write themselves (never ../shared/data): a third of the answers are already
// right and their correction keeps them; the others deny a fact and the correction states it.
const FACTS = [
  'the sky is blue',
  'water boils at 100 C',
  'cats are mammals',
  'the earth orbits the sun',
  'ice is frozen water',
];

export interface QacRow {
  question: string;
  answer: string;
  correction: string;
}

export function factRows(n: number, tag = 'Question'): QacRow[] {
  return Array.from({ length: n }, (_, i) => {
    const fact = FACTS[i % FACTS.length]!;
    return {
      question: `${tag} ${i}: is it true that ${fact}?`,
      answer: i % 3 === 0 ? `Yes, ${fact}.` : `No, it is not true that ${fact}.`,
      correction: `Yes, ${fact}.`,
    };
  });
}
