// A small embedded English corpus for training the test tokenizer's BPE merges. It mixes prose,
// question/answer and correction-style text, the prompt markers the Aligner templates use,
// punctuation, digits and newlines, so common pieces of real prompts become single tokens.

export const CORPUS = `BEGINNING OF CONVERSATION: USER: Edit the following Question-Answer pair to make it more helpful and harmless: ##Question: What is the capital of France? ##Answer: The capital of France is Paris. ASSISTANT: The capital of France is Paris, a city on the Seine river known for its museums, cafes and the Eiffel Tower.
BEGINNING OF CONVERSATION: USER: Edit the following Question-Answer pair to make it more helpful and harmless: ##Question: How many legs does a spider have? ##Answer: Spiders have six legs. ASSISTANT: Spiders have eight legs. Insects, such as ants and bees, have six legs.
##Question: Can you explain what a prime number is?
##Answer: A prime number is a number that can only be divided by 1 and itself.
##Correction: A prime number is a whole number greater than 1 whose only divisors are 1 and itself. For example, 2, 3, 5, 7, 11 and 13 are prime, while 4, 6, 8, 9 and 10 are not.

##Question: Why is the sky blue?
##Answer: Because it reflects the ocean.
##Correction: The sky looks blue because air molecules scatter short (blue) wavelengths of sunlight much more strongly than long (red) ones. This effect is called Rayleigh scattering; it has little to do with the ocean.

##Question: How do I boil an egg?
##Answer: Put the egg in water and wait.
##Correction: Place the egg in a small pot, cover it with cold water, and bring the water to a boil. Then lower the heat and simmer for 9 to 12 minutes for a hard-boiled egg (6 to 7 minutes for a soft one). Cool it in cold water before peeling.

##Question: What year did the first person walk on the Moon?
##Answer: 1972.
##Correction: The first Moon landing was on July 20, 1969, when Neil Armstrong and Buzz Aldrin of Apollo 11 walked on the surface. The last crewed landing, Apollo 17, was in December 1972.

USER: Is it safe to mix bleach and ammonia for cleaning?
ASSISTANT: No. Mixing bleach with ammonia releases toxic chloramine gas, which can damage your lungs. Use one product at a time, rinse surfaces in between, and keep the room well ventilated.

USER: Write a short note thanking a colleague for their help.
ASSISTANT: Hi Sam, thank you so much for your help with the report last week. Your notes on the budget section saved me hours, and the final version is much clearer because of them. I owe you a coffee!

USER: What's 15% of 240?
ASSISTANT: 15% of 240 is 36, because 240 x 0.15 = 36.

The quick brown fox jumps over the lazy dog. Pack my box with five dozen liquor jugs. How vexingly quick daft zebras jump!
It was a bright cold day in April, and the clocks were striking thirteen. She opened the window, looked at the empty street, and wondered whether anyone would come.
Water boils at 100 degrees Celsius (212 degrees Fahrenheit) at sea level. At higher altitudes the boiling point is lower, so food takes longer to cook.
The train leaves at 7:45 a.m. and arrives at 10:30 a.m.; tickets cost $12.50 for adults and $6.25 for children under 12.
Please read the instructions carefully before you start. If you have any questions, ask the teacher; don't guess.
In 2023, the company reported revenue of 4.2 billion dollars, up 8 percent from the previous year.
"Where are you going?" he asked. "To the library," she replied, "I need to return three books."
Hello, world! This is a test. Is this a test? Yes -- it's only a test... or is it?
Lists are useful:
1. Gather the ingredients.
2. Preheat the oven to 180 degrees.
3. Mix the flour, sugar and eggs.
4. Bake for 25 minutes.

A good answer is accurate, clear and kind. It should answer the question that was asked, avoid harmful advice, and admit uncertainty when the facts are not known. When an answer contains a mistake, the correction should fix the mistake and keep what was already right.
Computers store numbers in binary. A byte has 8 bits, so it can represent 256 different values, from 0 to 255. A kilobyte is 1024 bytes in many contexts, although the standard prefix kilo means 1000.
Photosynthesis is the process by which green plants use sunlight, water and carbon dioxide to make glucose and oxygen. It takes place mainly in the leaves, inside small structures called chloroplasts.
The heart pumps blood through the body. Arteries carry blood away from the heart, and veins carry it back. An adult heart beats about 60 to 100 times per minute at rest.
Exercise improves sleep, mood and health. Doctors recommend at least 150 minutes of moderate activity every week, such as brisk walking, cycling or swimming.
To reset your password, open Settings, choose Account, then select "Change password". You will receive an email with a link that expires after 24 hours.
The meeting has been moved from Tuesday to Thursday at 3 p.m. Please update your calendar and let me know if the new time does not work for you.
Rivers flow from higher ground to lower ground and usually end in a lake, a sea or an ocean. The Nile and the Amazon are among the longest rivers in the world.
A function takes inputs and returns an output. In many programming languages you write it like this: function add(a, b) { return a + b; } and call it with add(2, 3).
Shakespeare wrote plays such as Hamlet, Macbeth and Romeo and Juliet. Many of the phrases he used are still common in English today.
The Earth orbits the Sun once every 365.25 days, which is why we add a leap day to the calendar every four years.
If you feel sad or anxious for a long time, talking to a friend, a family member or a doctor can help. You do not have to face hard things alone.
Never share your password with anyone, even if they say they work for your bank. Real banks will not ask for it by phone or email.
Question: Which is heavier, a kilogram of feathers or a kilogram of steel?
Answer: Neither; they both weigh one kilogram.
Question: How many continents are there?
Answer: There are seven continents: Africa, Antarctica, Asia, Australia, Europe, North America and South America.
Question: Who painted the Mona Lisa?
Answer: Leonardo da Vinci painted the Mona Lisa in the early 1500s.
Question: What is the boiling point of water on Mount Everest?
Answer: About 70 degrees Celsius, because the air pressure is much lower at the summit.
Question: What does DNA stand for?
Answer: DNA stands for deoxyribonucleic acid, the molecule that carries genetic information.
Question: Is a tomato a fruit or a vegetable?
Answer: Botanically, a tomato is a fruit because it develops from a flower and contains seeds; in cooking it is usually treated as a vegetable.

I think the answer is mostly correct, but the second sentence is misleading. Let me rewrite it so that it is accurate and easier to follow.
Thanks for the question! Here is a clearer explanation, step by step. First, we define the terms. Second, we look at an example. Finally, we check the result.
Sorry, I made an error above: the correct value is 42, not 24.
We should be careful with medical, legal and financial advice. When in doubt, recommend talking to a qualified professional.
Children learn languages quickly when they hear them every day. Adults can learn too, with regular practice, patience and good materials.
The library opens at 9 in the morning and closes at 8 in the evening, except on Sundays, when it is closed all day.
Rain is expected tomorrow afternoon, with temperatures between 12 and 18 degrees and light winds from the west.
He said that he would finish the project by Friday, but it took him until the following Monday.
There are three main states of matter: solid, liquid and gas. Heating ice turns it into water, and heating water turns it into steam.
Some words come from other languages: café, naïve, résumé, fiancée, über, señor, São Paulo, Zürich, crème brûlée.
Greetings around the world: bonjour, hola, ciao, 你好, 中文, 日本語, こんにちは, 안녕하세요, Привет, مرحبا. Emoji are common in chat too 😀 👍 🎉 ❤️.
Good writing is simple. Use short sentences, active verbs, and concrete examples; cut words that do not add meaning.
`;
