import { render } from 'preact';
import { App } from './components/App.tsx';
import { startDashboardStream } from './models/jobs-store.ts';
import { startStorageStatus } from './models/storage-status.ts';
import { installRouter } from './router.ts';
import { installShortcuts } from './shortcuts.ts';
import './styles.css';

installRouter();
installShortcuts();
startDashboardStream();
startStorageStatus();
render(<App />, document.getElementById('app')!);

if ('serviceWorker' in navigator && location.protocol !== 'file:' && !import.meta.env.DEV) {
  addEventListener('load', () => {
    navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => undefined);
  });
}
