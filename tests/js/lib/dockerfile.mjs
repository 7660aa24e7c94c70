// The Dockerfile as the deploy tests read it: instructions with continuation lines joined and
// comments dropped, grouped by stage.
import {readFileSync} from 'node:fs';

function readStages(file) {
  const lines = readFileSync(file, 'utf8').split('\n');
  const instructions = [];
  let current = '';
  for (const raw of lines) {
    const line = raw.trim();
    if (!current && (line === '' || line.startsWith('#'))) continue;
    current += (current ? ' ' : '') + line.replace(/\\$/, '').trim();
    if (!line.endsWith('\\')) {
      const [keyword, ...rest] = current.split(/\s+/);
      instructions.push({keyword: keyword.toUpperCase(), args: rest.join(' ')});
      current = '';
    }
  }
  const stages = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const [image, , name] = instruction.args.split(/\s+/);
      stages.push({image, name, instructions: []});
    } else {
      stages.at(-1).instructions.push(instruction);
    }
  }
  return stages;
}

// `stages` in file order; `stage(name)`; `lineage(name)`, a stage's instructions with those of
// the stages it is built FROM first; `args(instructions, keyword)`, the arguments of each.
export function readDockerfile(file) {
  const stages = readStages(file);
  const stage = (name) => stages.find((s) => s.name === name);
  const lineage = (name) => {
    const own = stage(name);
    const parent = stage(own.image);
    return [...(parent ? lineage(parent.name) : []), ...own.instructions];
  };
  const args = (instructions, keyword) =>
    instructions.filter((i) => i.keyword === keyword).map((i) => i.args);
  return {stages, stage, lineage, args};
}

