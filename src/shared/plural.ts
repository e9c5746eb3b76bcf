/** "1 problem", "2 problems": a count with its noun in the right number (nouns that take an s). */
export const plural = (count: number, noun: string): string => `${count} ${noun}${count === 1 ? '' : 's'}`
