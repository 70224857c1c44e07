export declare const DEV_ONLY_IMPORTS: Map<string, Set<string>>;
export declare function packageName(spec: string): string;
export interface MetafileImports {
  inputs: Record<string, { imports: { path: string; kind: string; external?: boolean }[] }>;
}
export declare function externalProblems(metafile: MetafileImports, dependencies: Record<string, string> | undefined): string[];
export declare function unusedDependencies(metafile: MetafileImports, dependencies: Record<string, string> | undefined): string[];
