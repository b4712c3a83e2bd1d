// Reading a submitted form's fields by name.

/** The value of the form's input (or select, textarea) named `name`; "" when there is none. */
export function formText(form: HTMLFormElement, name: string): string {
  return (form.elements.namedItem(name) as HTMLInputElement | null)?.value ?? "";
}
