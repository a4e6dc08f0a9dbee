import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { extraCommands, isShellFence } from './commands.ts';
import { MISSING_LABEL, RUN_LABEL } from './labels.ts';
import { createMarkdown, isSafeLink } from './markdown.ts';

const render = createMarkdown();

describe('answers rendered as markdown, safely', () => {
  test('raw HTML stays text: an <img onerror> or a <script> is escaped, never an element', () => {
    const { html } = render('Look: <img src=x onerror="alert(1)"> and <script>alert(2)</script>', 'off');
    assert.doesNotMatch(html, /<img|<script/i);
    assert.match(html, /&lt;img src=x onerror=&quot;alert\(1\)&quot;&gt;/);
    assert.match(html, /&lt;script&gt;/);
  });

  test('javascript:, data: and vbscript: links are not links; http(s) links open apart, without opener', () => {
    for (const bad of [
      '[click](javascript:alert(1))',
      '[click](JavaScript:alert(1))',
      '<javascript:alert(1)>',
      '[x](data:text/html;base64,PHNjcmlwdD4=)',
      '[x](vbscript:msgbox)',
    ]) {
      assert.doesNotMatch(render(bad, 'off').html, /<a /, bad);
    }
    const { html } = render('See [the docs](https://example.com/a?b=1) or https://example.org', 'off');
    assert.match(
      html,
      /<a href="https:\/\/example\.com\/a\?b=1" target="_blank" rel="noopener noreferrer">the docs<\/a>/,
    );
    assert.match(html, /<a href="https:\/\/example\.org" target="_blank" rel="noopener noreferrer">/);
    assert.ok(isSafeLink('/pods/acme/web') && isSafeLink('mailto:ops@example.com') && !isSafeLink(' javascript:x'));
  });

  test('bare file names are not turned into links (install.sh is a file, not a site)', () => {
    assert.doesNotMatch(render('Run install.sh then check www.example.com', 'off').html, /<a /);
  });

  test('images are not fetched: an image becomes its text', () => {
    const { html } = render('![tracker](https://evil.example/x.png?secret=1)', 'off');
    assert.doesNotMatch(html, /<img/);
  });

  test('code is escaped, with a Copy button and its text kept verbatim', () => {
    const { html, blocks } = render('```js\nif (a < b && c) alert("<b>")\n```', 'ready');
    assert.match(html, /if \(a &lt; b &amp;&amp; c\) alert\(&quot;&lt;b&gt;&quot;\)/);
    assert.match(html, /data-action="copy" data-block="0"/);
    assert.doesNotMatch(html, /data-action="run"/, 'only shell blocks can be run');
    assert.deepEqual(blocks, [{ index: 0, lang: 'js', code: 'if (a < b && c) alert("<b>")', shell: false }]);
  });
});

describe('runnable commands from markdown fences', () => {
  const answer = [
    'Check the logs:',
    '',
    '```bash',
    'docker logs --tail 50 web',
    '```',
    '',
    '1. Then free space:',
    '   ```sh',
    '   df -h /var/lib/docker',
    '   du -sh /data/* | sort -h',
    '   ```',
    '',
    '```yaml',
    'image: n8n',
    '```',
    '',
    '```',
    'plain text',
    '```',
    '',
    '    indented code',
    '',
    '```Shell title="x"',
    'echo "$HOME" # kept as written',
    '```',
  ].join('\n');

  test('sh, bash and shell fences (also nested in a list) are runnable, verbatim; other code is not', () => {
    const { blocks } = render(answer, 'ready');
    assert.deepEqual(
      blocks.filter((block) => block.shell).map((block) => block.code),
      [
        'docker logs --tail 50 web',
        'df -h /var/lib/docker\ndu -sh /data/* | sort -h',
        'echo "$HOME" # kept as written',
      ],
    );
    assert.deepEqual(
      blocks.filter((block) => !block.shell).map((block) => block.lang),
      ['yaml', '', ''],
    );
    assert.ok(isShellFence('bash') && isShellFence(' SH ') && !isShellFence('python') && !isShellFence(''));
  });

  test('the run button is there with a terminal, says to open one without, and is absent while off', () => {
    const ready = render(answer, 'ready').html;
    assert.equal(ready.split(`>${RUN_LABEL}</button>`).length - 1, 3);
    assert.match(ready, /title="Types the command into the terminal without pressing Enter/);
    const missing = render(answer, 'missing').html;
    assert.equal(missing.split(`>${MISSING_LABEL}</button>`).length - 1, 3);
    assert.doesNotMatch(render(answer, 'off').html, /data-action="run"/);
  });

  test('suggested commands already shown as a shell block are not repeated', () => {
    const suggested = [
      { command: 'docker logs --tail 50 web', explanation: 'shown above' },
      { command: 'systemctl restart docker', explanation: 'new' },
      { command: 'systemctl restart docker ', explanation: 'twice' },
      { command: '  ', explanation: 'empty' },
    ];
    assert.deepEqual(extraCommands(suggested, ['docker logs --tail 50 web\n']), [suggested[1]]);
  });
});
