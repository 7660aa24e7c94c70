// Ctrl+K: a dialog to jump to a room or person by typing part of the name. It lists the open
// conversations and the people listed in the members pane that match, then "Join #name" and
// "Message name" for a name typed in full. ↑/↓ choose, Enter goes, Escape closes (the native
// <dialog> does). Touched only from the page's event loop.
'use strict';

const NAME = /^[A-Za-z0-9_.-]{1,32}$/;
const $ = (id) => document.getElementById(id);

export class Switcher {
  // candidates(): {conversations: [Conversation], people: [name]}; onPick(choice): choice is
  // {key} (an open conversation), {room} (join it) or {user} (write to them).
  constructor({candidates, onPick}) {
    this.candidates = candidates;
    this.onPick = onPick;
    this.dialog = $('switcher');
    this.input = $('switcher-input');
    this.list = $('switcher-list');
    this.choices = [];
    this.selected = 0;
    this.input.addEventListener('input', () => this.render());
    this.input.addEventListener('keydown', (event) => {
      if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
        event.preventDefault();
        const delta = event.key === 'ArrowDown' ? 1 : -1;
        this.selected = (this.selected + delta + this.choices.length) % Math.max(1, this.choices.length);
        this.render({keepSelection: true});
      } else if (event.key === 'Enter') {
        event.preventDefault();
        this.pick(this.selected);
      }
    });
    this.list.addEventListener('click', (event) => {
      const option = event.target.closest('li[data-index]');
      if (option) this.pick(Number(option.dataset.index));
    });
  }

  show() {
    this.input.value = '';
    this.render();
    if (!this.dialog.open) this.dialog.showModal();
    this.input.focus();
  }

  pick(index) {
    const choice = this.choices[index];
    if (!choice) return;
    this.dialog.close();
    this.onPick(choice);
  }

  render({keepSelection = false} = {}) {
    const typed = this.input.value.trim().replace(/^[#@]/, '');
    const wanted = typed.toLowerCase();
    const {conversations, people} = this.candidates();
    const choices = [];
    for (const conversation of conversations) {
      if (conversation.name.toLowerCase().includes(wanted)) {
        choices.push({key: conversation.key,
                      label: conversation.label,
                      hint: conversation.unread > 0 ? `${conversation.unread} unread` : ''});
      }
    }
    const known = new Set(conversations.filter((c) => c.kind === 'dm' && !c.closed).map((c) => c.name));
    for (const person of people) {
      if (!known.has(person) && person.toLowerCase().includes(wanted)) {
        choices.push({user: person, label: person, hint: 'message'});
        known.add(person);
      }
    }
    if (NAME.test(typed)) {
      if (!conversations.some((c) => c.kind === 'room' && c.name === typed)) {
        choices.push({room: typed, label: `Join #${typed}`, hint: 'room'});
      }
      if (!known.has(typed)) choices.push({user: typed, label: `Message ${typed}`, hint: 'person'});
    }
    this.choices = choices.slice(0, 30);
    if (!keepSelection) this.selected = 0;
    this.list.replaceChildren(...this.choices.map((choice, index) => {
      const item = document.createElement('li');
      item.setAttribute('role', 'option');
      item.id = `switcher-${index}`;
      item.dataset.index = String(index);
      item.setAttribute('aria-selected', String(index === this.selected));
      item.textContent = choice.label;
      if (choice.hint) {
        const hint = document.createElement('span');
        hint.className = 'hint';
        hint.textContent = choice.hint;
        item.append(hint);
      }
      return item;
    }));
    this.input.setAttribute('aria-activedescendant', this.choices.length ? `switcher-${this.selected}` : '');
  }
}
