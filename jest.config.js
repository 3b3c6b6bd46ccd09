// One Jest run over every project (`npm test`, CI): each folder under apps/, libs/ and tools/ with a jest.config.js.
const fs = require('node:fs');
const path = require('node:path');

const projects = ['apps', 'libs', 'tools'].flatMap((group) =>
  fs.existsSync(path.join(__dirname, group))
    ? fs
        .readdirSync(path.join(__dirname, group))
        .map((name) => path.join(__dirname, group, name, 'jest.config.js'))
        .filter((file) => fs.existsSync(file))
    : [],
);

module.exports = { projects };
