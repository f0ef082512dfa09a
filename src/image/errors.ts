// The one error the image builder throws on purpose: a step that cannot go
// on, with a message that says which step and why.

export class ImageBuildError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ImageBuildError';
  }
}

/** A host tool the builder needs is not installed. */
export class ToolMissingError extends ImageBuildError {
  readonly program: string;
  constructor(program: string, options?: ErrorOptions) {
    super(`${program} is not installed (scripts/install-deps.sh installs what the image builder needs)`, options);
    this.name = 'ToolMissingError';
    this.program = program;
  }
}
