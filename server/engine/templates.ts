// Aligner prompt templates. The strings live in templates.json so the Python trainer reads the same ones.
import templateJson from './templates.json' with { type: 'json' };
import type { ChatTurn, TemplateName } from '../protocol/index.js';

interface TemplateFile {
  templates: Record<TemplateName, string>;
  default: TemplateName;
  context: { user: string; assistant: string; separator: string; question: string };
}

const templateFile = templateJson as TemplateFile;

export const TEMPLATE_NAMES = Object.keys(templateFile.templates) as TemplateName[];
export const DEFAULT_TEMPLATE: TemplateName = templateFile.default;

/** Substitutes {name} placeholders in one pass, so a question containing "{answer}" stays literal. */
function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (whole, key: string) => (key in values ? values[key]! : whole));
}

/** The question as the model sees it: earlier dialogue (if any) followed by the last user turn. */
export function questionWithContext(question: string, context: ChatTurn[] = []): string {
  if (context.length === 0) return question;
  const c = templateFile.context;
  const turns = context.map((t) => fill(t.role === 'user' ? c.user : c.assistant, { content: t.content }));
  return [...turns, fill(c.question, { question })].join(c.separator);
}

function templateText(template: TemplateName): string {
  const text = templateFile.templates[template];
  if (text === undefined) throw new Error(`unknown template "${template}"; known: ${TEMPLATE_NAMES.join(', ')}`);
  return text;
}

/**
 * What follows the answer in a template ("\n##Correction: ASSISTANT:" for `correction`). A correction that
 * writes it has started a second prompt of its own (a fine-tuned 135M model did in 8 of 412 held-out rows,
 * after copying the answer), so the engine stops there, as at EOS.
 */
export function templateTail(template: TemplateName): string {
  const text = templateText(template);
  return text.slice(text.lastIndexOf('{answer}') + '{answer}'.length);
}

/** A correction's stop strings: the request's, and its template's tail. */
export function correctionStops(template: TemplateName, stops: readonly string[] = []): string[] {
  const tail = templateTail(template);
  return tail.trim() && !stops.includes(tail) ? [...stops, tail] : [...stops];
}

export function buildPrompt(template: TemplateName, question: string, answer: string, context?: ChatTurn[]): string {
  const text = templateText(template);
  return fill(text, { question: questionWithContext(question, context), answer });
}
