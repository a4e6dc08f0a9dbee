/* The /ai page's sections, loaded together when the page is first shown (see +page.svelte). */
export { default as GeneratePods } from './GeneratePods.svelte';
export { default as Provider } from './Provider.svelte';
export { default as Usage } from './Usage.svelte';
