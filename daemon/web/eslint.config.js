// Lint rules on top of the type checker: typescript-eslint's recommended type-aware set.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      "no-restricted-syntax": ["error", {
        selector: "JSXAttribute[name.name='dangerouslySetInnerHTML']",
        message: "never inject HTML: render text through Preact",
      }],
      "@typescript-eslint/no-floating-promises": "error",
      "eqeqeq": ["error", "always"],
    },
  },
);
