import type { ComponentChildren } from 'preact';
import { fieldMessage } from '../format.ts';

/** A labelled form row with its hint and the error the server (or the form) reported for it. */
export function Field(props: { id: string; label: string; hint?: ComponentChildren; error?: string | undefined; children: ComponentChildren; optional?: boolean }) {
  return (
    <div class={`field${props.error ? ' has-error' : ''}`} data-field={props.id}>
      <label for={props.id}>
        {props.label}
        {props.optional && <span class="muted"> (optional)</span>}
      </label>
      {props.children}
      {props.error ? (
        <p class="field-error" id={`${props.id}-error`} role="alert">
          {fieldMessage(props.error)}
        </p>
      ) : props.hint ? (
        <p class="hint">{props.hint}</p>
      ) : null}
    </div>
  );
}
