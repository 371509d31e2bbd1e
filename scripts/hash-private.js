'use strict';
// One-off codemod (issue 13, item 5): turns TypeScript `private` class members into ECMAScript
// `#private` ones, so that util.inspect, console.log and JSON.stringify of an object show none of
// its state (a write key included). Uses the type checker, so every reference is found by symbol.
//   node scripts/hash-private.js src/a.ts src/b.ts ...   (then: npm run typecheck)
const fs = require('node:fs');
const path = require('node:path');
const ts = require('typescript');

const root = path.resolve(__dirname, '..');
const configFile = ts.readConfigFile(path.join(root, 'tsconfig.json'), ts.sys.readFile);
const parsed = ts.parseJsonConfigFileContent(configFile.config, ts.sys, root);
const program = ts.createProgram(parsed.fileNames, parsed.options);
const checker = program.getTypeChecker();
const targets = new Set(process.argv.slice(2).map((file) => path.resolve(file)));

const isPrivate = (node) => ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.PrivateKeyword);
const privateKeyword = (node) => ts.getModifiers(node).find((m) => m.kind === ts.SyntaxKind.PrivateKeyword);

/** Edits by file: { start, end, text }. */
const edits = new Map();
const edit = (sourceFile, start, end, text) => {
  const list = edits.get(sourceFile.fileName) ?? [];
  list.push({ start, end, text });
  edits.set(sourceFile.fileName, list);
};
/** Removes `private` and the whitespace after it. */
const dropKeyword = (sourceFile, node) => {
  const keyword = privateKeyword(node);
  let end = keyword.end;
  while (/\s/.test(sourceFile.text[end])) end++;
  edit(sourceFile, keyword.getStart(sourceFile), end, '');
};

const symbols = new Set();
for (const sourceFile of program.getSourceFiles()) {
  if (!targets.has(path.resolve(sourceFile.fileName))) continue;
  const visit = (node) => {
    if (ts.isClassLike(node)) {
      for (const member of node.members) {
        if (!isPrivate(member) || !member.name || !ts.isIdentifier(member.name)) continue;
        if (member.questionToken) throw new Error(`${sourceFile.fileName}: optional private ${member.name.text} needs a hand`);
        symbols.add(checker.getSymbolAtLocation(member.name));
        dropKeyword(sourceFile, member);
      }
      const ctor = node.members.find((member) => ts.isConstructorDeclaration(member) && member.body);
      const fields = [];
      const assignments = [];
      for (const param of ctor?.parameters ?? []) {
        if (!isPrivate(param)) continue;
        const name = param.name.text;
        const [, property] = checker.getSymbolsOfParameterPropertyDeclaration(param, name);
        symbols.add(property);
        // The parameter stays a plain parameter; a field is declared and assigned from it.
        const readonly = ts.getModifiers(param).some((m) => m.kind === ts.SyntaxKind.ReadonlyKeyword);
        edit(sourceFile, ts.getModifiers(param)[0].getStart(sourceFile), param.name.getStart(sourceFile), '');
        const optional = param.questionToken ? ' | undefined' : '';
        fields.push(`${readonly ? 'readonly ' : ''}#${name}${param.type ? `: ${param.type.getText(sourceFile)}${optional}` : ''};`);
        assignments.push(`this.#${name} = ${name};`);
      }
      if (fields.length > 0) {
        const indent = ' '.repeat(ts.getLineAndCharacterOfPosition(sourceFile, ctor.getStart(sourceFile)).character);
        edit(sourceFile, ctor.getStart(sourceFile), ctor.getStart(sourceFile), fields.join(`\n${indent}`) + `\n\n${indent}`);
        const statements = ctor.body.statements;
        const superCall = statements.find(
          (s) => ts.isExpressionStatement(s) && ts.isCallExpression(s.expression) && s.expression.expression.kind === ts.SyntaxKind.SuperKeyword,
        );
        const at = superCall ? superCall.end : ctor.body.getStart(sourceFile) + 1;
        const closing = statements.length === 0 ? `\n${indent}` : '';
        edit(sourceFile, at, at, assignments.map((line) => `\n${indent}  ${line}`).join('') + closing);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
}

for (const sourceFile of program.getSourceFiles()) {
  if (sourceFile.isDeclarationFile) continue;
  const visit = (node) => {
    if (
      (ts.isPropertyAccessExpression(node) ||
        ts.isPropertyDeclaration(node) ||
        ts.isMethodDeclaration(node) ||
        ts.isGetAccessor(node) ||
        ts.isSetAccessor(node)) &&
      ts.isIdentifier(node.name)
    ) {
      const symbol = checker.getSymbolAtLocation(node.name);
      if (symbols.has(symbol)) edit(sourceFile, node.name.getStart(sourceFile), node.name.getStart(sourceFile), '#');
    } else if (ts.isElementAccessExpression(node) && symbols.has(checker.getSymbolAtLocation(node.argumentExpression))) {
      throw new Error(`${sourceFile.fileName}: ${node.getText(sourceFile)} reaches a private member by name; needs a hand`);
    } else if (ts.isShorthandPropertyAssignment(node) || ts.isBindingElement(node)) {
      const name = node.propertyName ?? node.name;
      if (ts.isIdentifier(name) && symbols.has(checker.getSymbolAtLocation(name)))
        throw new Error(`${sourceFile.fileName}: destructures a private member; needs a hand`);
    }
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
}

for (const [fileName, list] of edits) {
  let text = fs.readFileSync(fileName, 'utf8');
  for (const { start, end, text: replacement } of list.sort((a, b) => b.start - a.start || b.end - a.end)) {
    text = text.slice(0, start) + replacement + text.slice(end);
  }
  fs.writeFileSync(fileName, text);
  console.log(`${path.relative(root, fileName)}: ${list.length} edits`);
}
