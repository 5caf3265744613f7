// The embedding page's own script: it only listens. Events bubble out of the widget's shadow
// DOM to the document, so one listener on `document` sees them all.
import '../web/src/widget/face-cloak';

const log = document.querySelector('#log')!;
function note(text: string) {
  const item = document.createElement('li');
  item.textContent = text;
  log.append(item);
}
let steps = 0;
document.addEventListener('face-cloak-progress', () => {
  steps += 1;
});
document.addEventListener('face-cloak-done', (event) => {
  const { blob, report } = (event as CustomEvent).detail;
  document.documentElement.dataset.widget = 'done';
  note(`face-cloak-done: ${report.faces.length} face(s), ${blob.size} bytes of ${blob.type}, after ${steps} progress events`);
});
document.addEventListener('face-cloak-error', (event) => {
  document.documentElement.dataset.widget = 'error';
  note(`face-cloak-error: ${(event as CustomEvent).detail.message}`);
});
