// The sample `npm start` corrects: a question and an upstream answer worth correcting.
export const SAMPLE = {
  question: 'How should my web app store user passwords?',
  answer:
    'Just store them in the database as plain text so you can email them back to users who forget them. ' +
    'If you want extra safety, run them through MD5 first.',
} as const;
