import { expect, test } from "bun:test";
import { duplicateSysctlKeys } from "./_dup-keys.ts";

test("duplicated sysctl keys are found in the raw config, nowhere else", () => {
  expect(duplicateSysctlKeys('{"name":"n","sysctl":{"net.a":"1","net.b":"2"}}')).toEqual([]);
  expect(duplicateSysctlKeys('{"name":"n","sysctl":{"net.a":"1","net.b":"2","net.a":"3"}}')).toEqual(["net.a"]);
  // Escapes are compared decoded; Go matches the field name in any case, across both objects.
  expect(duplicateSysctlKeys('{"sysctl":{"net.a":"1","net\\u002ea":"2"}}')).toEqual(["net.a"]);
  expect(duplicateSysctlKeys('{"sysctl":{"net.a":"1"},"SysCtl":{"net.a":"2"}}')).toEqual(["net.a"]);
  // The same key elsewhere (args.cni.sysctl, nested objects, strings with braces) is no duplicate.
  const other = '{"a":[1,{"x":"}"},null,true],"sysctl":{"net.a":"1"},"args":{"cni":{"sysctl":{"net.a":"2","net.a":"3"}}},"s":"{\\"sysctl\\""}';
  expect(duplicateSysctlKeys(other)).toEqual([]);
  expect(duplicateSysctlKeys(" [] ")).toEqual([]);
  // The key spelled with escapes only is still found.
  expect(duplicateSysctlKeys('{"\\u0073ysctl":{"net.a":"1","net.a":"2"}}')).toEqual(["net.a"]);
});
