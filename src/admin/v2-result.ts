/** Nacos 2.x open API's success body (`Result.success`). */
export interface V2Success<T> {
  readonly code: 0;
  readonly message: 'success';
  readonly data: T;
}

/** `{code: 0, message: "success", data}`, as every v2 route answers a success. */
export function v2Success<T>(data: T): V2Success<T> {
  return { code: 0, message: 'success', data };
}
